# Reference values for the one squared-multiple-correlation rule (acap.factor._corr.smc) from
# R's psych package, on a near-singular correlation matrix where inverting and psych's Pinv
# disagree.
#
# Run from the repository root:   Rscript tests/r/itemdata.R
# Writes tests/fixtures/itemdata/:
#   near_singular.csv  seeded data: 300 rows x 6 items, item6 = item1 + item2 + item3 plus noise
#                      of SD 1e-6 (condition number of the correlation matrix about 1e13)
#   smc.json           psych::smc of the Pearson correlations (psych 2.2.9 inverts with Pinv),
#                      1 - 1/diag(solve(R)) for contrast, psych::alpha's G6(smc) and
#                      psych::omega's G6 with 2 and 3 factors

suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})

out <- file.path("tests", "fixtures", "itemdata")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

set.seed(11)
n <- 300
x <- matrix(rnorm(n * 5), n, 5)
x <- cbind(x, x[, 1] + x[, 2] + x[, 3] + 1e-6 * rnorm(n))
colnames(x) <- paste0("item", 1:6)
write.csv(x, file.path(out, "near_singular.csv"), row.names = FALSE)
x <- read.csv(file.path(out, "near_singular.csv"))  # the values the test reads back

r <- cor(x)
a <- suppressMessages(suppressWarnings(
  alpha(x, check.keys = FALSE, warnings = FALSE)))
res <- list(
  psych_version = as.character(packageVersion("psych")),
  smc = unname(suppressMessages(smc(r))),
  inverse_smc = unname(1 - 1 / diag(solve(r))),
  g6 = a$total[["G6(smc)"]],
  std_alpha = a$total[["std.alpha"]],
  omega_g6 = sapply(2:3, function(nf)
    suppressMessages(suppressWarnings(omega(x, nfactors = nf, plot = FALSE)))$G6)
)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out, "smc.json"))
