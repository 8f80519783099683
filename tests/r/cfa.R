# Reference values for acap.factor.cfa / acap.factor.invariance from lavaan (+ semTools).
# Run from the repository root: Rscript tests/r/cfa.R
# Writes inputs and lavaan's answers to tests/fixtures/cfa/.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
out <- "tests/fixtures/cfa"
dir.create(out, recursive = TRUE, showWarnings = FALSE)

fit_names <- c("npar", "fmin", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df",
               "baseline.pvalue", "cfi", "tli", "logl", "unrestricted.logl", "aic", "bic",
               "ntotal", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr")

write_fit <- function(fit, file) {
  fm <- fitMeasures(fit, fit_names)
  writeLines(toJSON(as.list(unclass(fm)), auto_unbox = TRUE, digits = NA, pretty = TRUE),
             file.path(out, file))
}

write_params <- function(fit, file) {
  pe <- parameterEstimates(fit, standardized = TRUE, remove.eq = TRUE, remove.def = TRUE)
  if (is.null(pe$group)) pe$group <- 1L
  pe <- pe[, c("lhs", "op", "rhs", "group", "est", "se", "z", "pvalue", "std.lv", "std.all")]
  write.csv(pe, file.path(out, file), row.names = FALSE)
}

write_mi <- function(fit, file) {
  mi <- modindices(fit, sort. = TRUE)
  mi <- mi[, c("lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all")]
  write.csv(mi, file.path(out, file), row.names = FALSE)
}

invariance_table <- function(model, data, group, missing = "listwise") {
  fits <- list(
    configural = cfa(model, data = data, group = group, meanstructure = TRUE,
                     missing = missing),
    metric = cfa(model, data = data, group = group, meanstructure = TRUE,
                 group.equal = c("loadings"), missing = missing),
    scalar = cfa(model, data = data, group = group, meanstructure = TRUE,
                 group.equal = c("loadings", "intercepts"), missing = missing)
  )
  tab <- do.call(rbind, lapply(names(fits), function(nm) {
    fm <- fitMeasures(fits[[nm]], c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "srmr",
                                    "npar", "aic", "bic", "logl", "baseline.chisq", "baseline.df",
                                    "rmsea.ci.lower", "rmsea.ci.upper"))
    data.frame(model = nm, t(unclass(fm)))
  }))
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar, method = "default")
  tab$delta_chisq <- c(NA, lrt[["Chisq diff"]][-1])
  tab$delta_df <- c(NA, lrt[["Df diff"]][-1])
  tab$delta_pvalue <- c(NA, lrt[["Pr(>Chisq)"]][-1])
  tab$delta_cfi <- c(NA, diff(tab$cfi))
  tab$delta_rmsea <- c(NA, diff(tab$rmsea))
  list(table = tab, fits = fits)
}

# --- Holzinger & Swineford (1939), the classic 3-factor model ---------------------------
hs <- HolzingerSwineford1939
write.csv(hs[, c("id", "school", paste0("x", 1:9))], file.path(out, "hs.csv"), row.names = FALSE)
hs_model <- "visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9"
fit <- cfa(hs_model, data = hs, meanstructure = TRUE)
write_fit(fit, "hs_fit.json")
write_params(fit, "hs_params.csv")
write_mi(fit, "hs_modindices.csv")

inv <- invariance_table(hs_model, hs, "school")
write.csv(inv$table, file.path(out, "hs_invariance.csv"), row.names = FALSE)
for (nm in names(inv$fits)) write_params(inv$fits[[nm]], sprintf("hs_%s_params.csv", nm))

# semTools' view of the same comparison (delta CFI/RMSEA), to cross-check the table above
if (requireNamespace("semTools", quietly = TRUE)) {
  cf <- semTools::compareFit(inv$fits$configural, inv$fits$metric, inv$fits$scalar, nested = TRUE)
  fd <- cf@fit.diff
  fd$pair <- rownames(fd)
  write.csv(fd, file.path(out, "hs_invariance_semtools.csv"), row.names = FALSE)
}

# --- seeded simulated data: 2 factors x 4 items, 1-7 integers, 2 groups, some missing ----
set.seed(20240611)
sim_group <- function(n, shift) {
  f <- MASS::mvrnorm(n, c(0, 0), matrix(c(1, .4, .4, 1), 2))
  lam <- c(.8, .7, .6, .75, .7, .8, .65, .6)
  fac <- rep(1:2, each = 4)
  x <- sapply(1:8, function(j) 4 + shift[j] + 1.2 * lam[j] * f[, fac[j]] + rnorm(n, sd = 0.9))
  x <- pmin(pmax(round(x), 1), 7)
  colnames(x) <- paste0("item", 1:8)
  x
}
xa <- sim_group(260, rep(0, 8))
xb <- sim_group(240, c(0, 0, .5, 0, 0, 0, 0, -.4))
sim <- data.frame(rbind(xa, xb), org = rep(c("icb", "la"), c(260, 240)))
# about 1.5% of cells missing completely at random: listwise deletion drops those rows
miss <- matrix(runif(nrow(sim) * 8) < 0.015, nrow(sim))
for (j in 1:8) sim[miss[, j], j] <- NA
write.csv(sim, file.path(out, "sim.csv"), row.names = FALSE, na = "")
sim_model <- "absorb =~ item1 + item2 + item3 + item4
exploit =~ item5 + item6 + item7 + item8"
fit2 <- cfa(sim_model, data = sim, meanstructure = TRUE)
write_fit(fit2, "sim_fit.json")
write_params(fit2, "sim_params.csv")
write_mi(fit2, "sim_modindices.csv")
inv2 <- invariance_table(sim_model, sim, "org")
write.csv(inv2$table, file.path(out, "sim_invariance.csv"), row.names = FALSE)
for (nm in names(inv2$fits)) write_params(inv2$fits[[nm]], sprintf("sim_%s_params.csv", nm))

# FIML (missing = "ml") on the same simulated data: lavaan's defaults for it (observed
# information from the Hessian; chi-square against the EM-estimated unrestricted model)
fit3 <- cfa(sim_model, data = sim, meanstructure = TRUE, missing = "ml")
write_fit(fit3, "sim_fiml_fit.json")
write_params(fit3, "sim_fiml_params.csv")
write_mi(fit3, "sim_fiml_modindices.csv")
inv3 <- invariance_table(sim_model, sim, "org", missing = "ml")
write.csv(inv3$table, file.path(out, "sim_fiml_invariance.csv"), row.names = FALSE)
write_params(inv3$fits$scalar, "sim_fiml_scalar_params.csv")

# --- psych::bfi: 5 factors x 5 items with reverse-keyed items, missing values ------------------
bfi <- psych::bfi[, c(paste0(rep(c("A", "C", "E", "N", "O"), each = 5), 1:5), "gender")]
write.csv(bfi, file.path(out, "bfi.csv"), row.names = FALSE, na = "")
bfi_model <- "agree =~ A1 + A2 + A3 + A4 + A5
consc =~ C1 + C2 + C3 + C4 + C5
extra =~ E1 + E2 + E3 + E4 + E5
neuro =~ N1 + N2 + N3 + N4 + N5
open =~ O1 + O2 + O3 + O4 + O5"
fit4 <- cfa(bfi_model, data = bfi, meanstructure = TRUE)
write_fit(fit4, "bfi_fit.json")
write_params(fit4, "bfi_params.csv")
write_mi(fit4, "bfi_modindices.csv")
inv4 <- invariance_table(bfi_model, bfi, "gender")
write.csv(inv4$table, file.path(out, "bfi_invariance.csv"), row.names = FALSE)
fit5 <- cfa(bfi_model, data = bfi, meanstructure = TRUE, missing = "ml")
write_fit(fit5, "bfi_fiml_fit.json")
write_params(fit5, "bfi_fiml_params.csv")

cat("lavaan", as.character(packageVersion("lavaan")), "fixtures written to", out, "\n")
