# Reference values for lavaan conventions in acap.factor.cfa: default mean structure, model
# syntax, two-stage ML (missing = "two.stage") and WLSMV for ordered items.
# Run from the repository root: Rscript tests/r/cfa_lavaan.R
# Writes inputs and lavaan's answers to tests/fixtures/cfa_lavaan/.
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
out <- "tests/fixtures/cfa_lavaan"
dir.create(out, recursive = TRUE, showWarnings = FALSE)

fit_names <- c("npar", "fmin", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df",
               "cfi", "tli", "logl", "unrestricted.logl", "aic", "bic", "ntotal", "rmsea",
               "rmsea.ci.lower", "rmsea.ci.upper", "srmr")
scaled_names <- c("chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
                  "baseline.chisq.scaled", "baseline.df.scaled", "cfi.scaled", "tli.scaled",
                  "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust")
write_fit <- function(fit, file, names = fit_names) {
  fm <- fitMeasures(fit)
  fm <- fm[intersect(names, names(fm))]
  writeLines(toJSON(as.list(unclass(fm)), auto_unbox = TRUE, digits = NA, pretty = TRUE),
             file.path(out, file))
}
write_params <- function(fit, file) {
  pe <- parameterEstimates(fit, standardized = TRUE, remove.eq = TRUE, remove.def = TRUE)
  if (is.null(pe$group)) pe$group <- 1L
  pe <- pe[, c("lhs", "op", "rhs", "group", "est", "se", "std.lv", "std.all")]
  write.csv(pe, file.path(out, file), row.names = FALSE)
}

hs <- HolzingerSwineford1939
hs_model <- '
  # the tutorial model
  visual  =~ x1 + x2 + x3
  textual =~ x4 + x5 + x6
  speed   =~ x7 + x8 + x9
'
items <- paste0("x", 1:9)
write.csv(hs[, c("id", "school", items)], file.path(out, "hs.csv"), row.names = FALSE)

# --- lavaan's default (no mean structure), asked-for mean structure, groups ------------------
write_fit(cfa(hs_model, data = hs), "hs_default_fit.json")
write_params(cfa(hs_model, data = hs), "hs_default_params.csv")
write_fit(cfa(hs_model, data = hs, meanstructure = TRUE), "hs_meanstructure_fit.json")
write_fit(cfa(hs_model, data = hs, group = "school"), "hs_group_fit.json")
write_params(cfa(hs_model, data = hs, group = "school"), "hs_group_params.csv")
cov_model <- 'visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ NA*x7 + x8 + x9
x7 ~~ x8
speed ~~ 1*speed'
write_fit(cfa(cov_model, data = hs), "hs_syntax_fit.json")
write_params(cfa(cov_model, data = hs), "hs_syntax_params.csv")

# --- missing values: FIML and two-stage ---------------------------------------------------------
set.seed(20261206)
hsm <- hs[, c("id", "school", items)]
for (j in items) hsm[sample(nrow(hsm), 30), j] <- NA
write.csv(hsm, file.path(out, "hs_missing.csv"), row.names = FALSE, na = "")
write_fit(cfa(hs_model, data = hsm, missing = "ml"), "hs_fiml_fit.json")
write_params(cfa(hs_model, data = hsm, missing = "ml"), "hs_fiml_params.csv")
ts <- cfa(hs_model, data = hsm, missing = "two.stage")
write_fit(ts, "hs_twostage_fit.json", c(fit_names, scaled_names))
write_params(ts, "hs_twostage_params.csv")
ts2 <- cfa(hs_model, data = hsm, missing = "two.stage", group = "school")
write_fit(ts2, "hs_twostage_group_fit.json", c(fit_names, scaled_names))
write_params(ts2, "hs_twostage_group_params.csv")

# --- ordered items: WLSMV ------------------------------------------------------------------------
wlsmv_names <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
                 "chisq.scaling.factor", "chisq.shift.parameters", "baseline.chisq",
                 "baseline.df", "baseline.chisq.scaled", "baseline.df.scaled", "cfi", "tli",
                 "cfi.scaled", "tli.scaled", "rmsea", "rmsea.scaled", "srmr", "ntotal")
hso <- hs[, c("id", "school", items)]
for (j in items) {
  # four categories at the item's quartiles (ties go down), as integers 1-4
  br <- unique(quantile(hs[[j]], c(0, .25, .5, .75, 1)))
  hso[[j]] <- as.integer(cut(hs[[j]], br, include.lowest = TRUE))
}
write.csv(hso, file.path(out, "hs_ordinal.csv"), row.names = FALSE)
fo <- cfa(hs_model, data = hso, ordered = TRUE)
write_fit(fo, "hs_wlsmv_fit.json", wlsmv_names)
write_params(fo, "hs_wlsmv_params.csv")

set.seed(7)
n <- 500
f <- matrix(rnorm(n * 2), n, 2) %*% chol(matrix(c(1, .4, .4, 1), 2))
lam <- c(.8, .7, .6, .75, .65, .7, .8, .55)
fac <- c(1, 1, 1, 1, 2, 2, 2, 2)
sim <- data.frame(row.names = seq_len(n))
cuts <- list(c(-1.5, -.5, .4, 1.3), c(-1.2, -.3, .6, 1.5), c(-1.6, -0.8, 0, 1), c(-1, 0, .8, 1.8))
for (j in 1:8) {
  ystar <- lam[j] * f[, fac[j]] + sqrt(1 - lam[j]^2) * rnorm(n)
  sim[[paste0("q", j)]] <- as.integer(findInterval(ystar, cuts[[(j - 1) %% 4 + 1]]) + 1)
}
sim$org <- rep(c("icb", "la"), each = n / 2)
write.csv(sim, file.path(out, "sim_ordinal.csv"), row.names = FALSE)
sim_model <- 'absorb =~ q1 + q2 + q3 + q4
exploit =~ q5 + q6 + q7 + q8'
fs <- cfa(sim_model, data = sim, ordered = TRUE)
write_fit(fs, "sim_wlsmv_fit.json", wlsmv_names)
write_params(fs, "sim_wlsmv_params.csv")

# --- ordered invariance (delta parameterization, lavaan's group.equal) ------------------------------
inv <- list(
  configural = cfa(sim_model, data = sim, ordered = TRUE, group = "org"),
  thresholds = cfa(sim_model, data = sim, ordered = TRUE, group = "org",
                   group.equal = c("thresholds", "loadings")),
  intercepts = cfa(sim_model, data = sim, ordered = TRUE, group = "org",
                   group.equal = c("thresholds", "loadings", "intercepts")))
for (nm in names(inv)) {
  write_fit(inv[[nm]], paste0("sim_wlsmv_", nm, "_fit.json"), wlsmv_names)
  write_params(inv[[nm]], paste0("sim_wlsmv_", nm, "_params.csv"))
}
lrt <- lavTestLRT(inv$configural, inv$thresholds, inv$intercepts)
lrt <- data.frame(model = rownames(lrt), df = lrt$Df, chisq = lrt$Chisq,
                  delta_chisq = lrt[["Chisq diff"]], delta_df = lrt[["Df diff"]],
                  delta_pvalue = lrt[["Pr(>Chisq)"]])
write.csv(lrt, file.path(out, "sim_wlsmv_lrt.csv"), row.names = FALSE)
cat("lavaan", as.character(packageVersion("lavaan")), "\n")
