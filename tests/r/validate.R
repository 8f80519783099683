# Reference values for the two-stage CFA of acap.validate (EM moments, then ML) from lavaan.
# Run from the repository root: Rscript tests/r/validate.R
# Writes the input data and lavaan's answers to tests/fixtures/validate/.
#
# Stage 1: lavaan's saturated (h1) model under missing = "ml" is the EM estimate of the item
# means and covariances. Stage 2: cfa() fitted to those moments with the full N
# (sample.cov.rescale = FALSE because the EM covariance already has divisor N).
suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})
out <- "tests/fixtures/validate"
dir.create(out, recursive = TRUE, showWarnings = FALSE)

hs <- HolzingerSwineford1939[, paste0("x", 1:9)]
set.seed(20261121)
n <- nrow(hs)
# about 10% of cells missing, more often for low scorers on x1 (missing at random given x1)
for (j in 2:9) {
  p <- ifelse(hs$x1 < median(hs$x1), 0.14, 0.06)
  hs[runif(n) < p, j] <- NA
}
hs[runif(n) < 0.05, 1] <- NA
hs <- hs[rowSums(!is.na(hs)) > 0, ]
write.csv(hs, file.path(out, "hs_missing.csv"), row.names = FALSE, na = "")

model <- "visual =~ x1 + x2 + x3
          textual =~ x4 + x5 + x6
          speed =~ x7 + x8 + x9"
fit_ml <- cfa(model, data = hs, missing = "ml", meanstructure = TRUE)
h1 <- lavInspect(fit_ml, "sampstat.h1")
write.csv(data.frame(item = names(h1$mean), mean = as.numeric(h1$mean)),
          file.path(out, "hs_em_mean.csv"), row.names = FALSE)
cv <- as.matrix(unclass(h1$cov))
write.csv(data.frame(item = rownames(cv), cv, check.names = FALSE),
          file.path(out, "hs_em_cov.csv"), row.names = FALSE)

fit2 <- cfa(model, sample.cov = cv, sample.mean = as.numeric(h1$mean), sample.nobs = nrow(hs),
            sample.cov.rescale = FALSE, meanstructure = TRUE)
fm <- fitMeasures(fit2, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
                          "rmsea.ci.upper", "srmr", "ntotal"))
writeLines(toJSON(as.list(unclass(fm)), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "hs_two_stage_fit.json"))
pe <- parameterEstimates(fit2, standardized = TRUE)
pe <- pe[pe$op == "=~", c("lhs", "op", "rhs", "est", "se", "std.all")]
write.csv(pe, file.path(out, "hs_two_stage_loadings.csv"), row.names = FALSE)
# FIML for comparison only (not what acap computes): documents how close two-stage is
fm_ml <- fitMeasures(fit_ml, c("chisq", "df", "cfi", "tli", "rmsea", "srmr"))
writeLines(toJSON(as.list(unclass(fm_ml)), auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "hs_fiml_fit.json"))
writeLines(toJSON(list(R = R.version.string, lavaan = as.character(packageVersion("lavaan"))),
                  auto_unbox = TRUE, pretty = TRUE), file.path(out, "versions.json"))
