# Reference values for "bring your own items" (acap validate DATA --model MODEL, no bank):
# Holzinger-Swineford 1939 with lavaan's tutorial model, and psych's bfi with its five scales.
# Run from the repository root: Rscript tests/r/researcher.R
# Writes tests/fixtures/researcher/.
suppressPackageStartupMessages({
  library(lavaan)
  library(psych)
  library(jsonlite)
})
out <- "tests/fixtures/researcher"
dir.create(out, recursive = TRUE, showWarnings = FALSE)

hs <- HolzingerSwineford1939
write.csv(hs, file.path(out, "hs.csv"), row.names = FALSE, na = "")
writeLines(c("visual  =~ x1 + x2 + x3", "textual =~ x4 + x5 + x6", "speed   =~ x7 + x8 + x9"),
           file.path(out, "hs.lav"))
writeLines(c("visual: [x1, x2, x3]", "textual: [x4, x5, x6]", "speed: [x7, x8, x9]"),
           file.path(out, "hs.yaml"))
model <- "visual =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed =~ x7 + x8 + x9"
fit <- cfa(model, data = hs)
fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
                         "srmr"))
write_json(as.list(fm), file.path(out, "hs_fit.json"), digits = NA, auto_unbox = TRUE)
pe <- standardizedSolution(fit)
pe <- pe[pe$op == "=~", c("lhs", "rhs", "est.std")]
write.csv(pe, file.path(out, "hs_std_loadings.csv"), row.names = FALSE)
# invariance across schools, lavaan's group.equal (every model with a mean structure)
inv <- lapply(list(configural = "", metric = c("loadings"), scalar = c("loadings", "intercepts")),
              function(eq) fitMeasures(cfa(model, data = hs, group = "school", group.equal = eq),
                                       c("chisq", "df", "cfi", "tli", "rmsea", "srmr")))
write.csv(do.call(rbind, inv), file.path(out, "hs_invariance.csv"))
# alpha per factor
al <- sapply(list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"), speed = c("x7", "x8", "x9")),
             function(v) psych::alpha(hs[, v])$total$raw_alpha)
write_json(as.list(al), file.path(out, "hs_alpha.json"), digits = NA, auto_unbox = TRUE)

bfi <- psych::bfi
write.csv(bfi, file.path(out, "bfi.csv"), row.names = FALSE, na = "")
keys <- list(agreeableness = c("-A1", "A2", "A3", "A4", "A5"), conscientiousness = c("C1", "C2", "C3", "-C4", "-C5"),
             extraversion = c("-E1", "-E2", "E3", "E4", "E5"), neuroticism = c("N1", "N2", "N3", "N4", "N5"),
             openness = c("O1", "-O2", "O3", "O4", "-O5"))
writeLines(sprintf("%s: [%s]", names(keys), sapply(keys, function(k) paste(sub("-", "", k), collapse = ", "))),
           file.path(out, "bfi.yaml"))
al <- sapply(keys, function(k) {
  v <- sub("-", "", k)
  psych::alpha(bfi[, v], keys = v[startsWith(k, "-")])$total$raw_alpha
})
write_json(as.list(al), file.path(out, "bfi_alpha.json"), digits = NA, auto_unbox = TRUE)
f5 <- psych::fa(bfi[, 1:25], nfactors = 5, fm = "minres", rotate = "oblimin")
write_json(list(rms = f5$rms, tli = f5$TLI, rmsea = unname(f5$RMSEA[1]), bic = f5$BIC),
           file.path(out, "bfi_fa5_fit.json"), digits = NA, auto_unbox = TRUE)
write.csv(unclass(f5$loadings), file.path(out, "bfi_fa5_pattern.csv"))
write.csv(f5$Structure[, ], file.path(out, "bfi_fa5_structure.csv"))
write.csv(data.frame(h2 = f5$communality), file.path(out, "bfi_fa5_communality.csv"))
writeLines(c(paste("R", getRversion()), paste("lavaan", packageVersion("lavaan")),
             paste("psych", packageVersion("psych"))), file.path(out, "versions.txt"))
