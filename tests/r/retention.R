# Reference values for acap.factor.parallel_analysis (psych::fa.parallel) and its batched
# one-factor minres solver. Run from the repository root:  Rscript tests/r/retention.R
# Reads the item data tests/r/efa.R wrote (tests/fixtures/efa/bfi25.csv, sim12.csv) and writes
# tests/fixtures/retention/*.csv, *.json; the pytest suite reads them (never needs R).
suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})
options(mc.cores = 1)  # fa.parallel uses mclapply; one core keeps the seeded stream fixed

out <- file.path("tests", "fixtures", "retention")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

# ---- fa.parallel with 100 iterations: every replicate's eigenvalues, so the tests can state
# their tolerances in Monte-Carlo standard errors ----------------------------------------
pa_dump <- function(x, tag, seed) {
  set.seed(seed)
  pa <- fa.parallel(x, n.iter = 100, plot = FALSE)
  write.csv(data.frame(pc_values = pa$pc.values, fa_values = pa$fa.values),
            file.path(out, paste0("parallel_", tag, "_observed.csv")), row.names = FALSE)
  # columns: resampled pc (C), resampled fa (F), simulated pc (CSim), simulated fa (Fsim)
  write.csv(signif(pa$values, 10), file.path(out, paste0("parallel_", tag, "_replicates.csv")),
            row.names = FALSE)
  write_json(list(nfact = pa$nfact, ncomp = pa$ncomp, n_iter = 100, quant = 0.95),
             file.path(out, paste0("parallel_", tag, ".json")), auto_unbox = TRUE)
}
pa_dump(read.csv(file.path("tests", "fixtures", "efa", "bfi25.csv")), "bfi", 31)
pa_dump(read.csv(file.path("tests", "fixtures", "efa", "sim12.csv")), "sim", 32)

# ---- one-factor minres of random correlation matrices, paired: the matrices fa.parallel
# fits (correlations of n x p independent normals) and psych's eigenvalues for each --------
pair_dump <- function(p, n, reps, tag, seed) {
  set.seed(seed)
  low <- lower.tri(diag(p))
  rows <- matrix(0, reps, sum(low))
  vals <- matrix(0, reps, p)
  for (b in seq_len(reps)) {
    C <- cor(matrix(rnorm(n * p), n, p))
    rows[b, ] <- C[low]  # column-major lower triangle
    vals[b, ] <- fa(C, nfactors = 1, rotate = "none", fm = "minres", SMC = FALSE,
                    warnings = FALSE)$values
  }
  write.csv(signif(rows, 15), file.path(out, paste0("minres1_", tag, "_r.csv")), row.names = FALSE)
  write.csv(signif(vals, 15), file.path(out, paste0("minres1_", tag, "_values.csv")),
            row.names = FALSE)
}
pair_dump(8, 150, 150, "p8n150", 41)
pair_dump(12, 600, 150, "p12n600", 42)
pair_dump(30, 10000, 40, "p30n10000", 43)

writeLines(c(paste("psych", packageVersion("psych")), R.version.string),
           file.path(out, "VERSIONS.txt"))
