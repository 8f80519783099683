# Reference values for acap.factor.adequacy (KMO, Bartlett) and acap.factor.polychoric.
# Run from the repository root:  Rscript tests/r/adequacy.R
# Writes input data and psych's results to tests/fixtures/adequacy/.
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

out <- "tests/fixtures/adequacy"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

write_data <- function(x, name) {
  write.csv(x, file.path(out, name), row.names = FALSE, na = "NA")
}
write_matrix <- function(m, name) {
  df <- data.frame(item = rownames(m), as.data.frame(unclass(m)), check.names = FALSE)
  write.csv(df, file.path(out, name), row.names = FALSE, na = "NA")
}
dig <- 17

# ---- KMO and Bartlett on psych::bfi (25 items, NA present) -----------------
bfi25 <- psych::bfi[, 1:25]
write_data(bfi25, "bfi25.csv")
k <- KMO(bfi25)
b <- suppressWarnings(cortest.bartlett(bfi25))
r_bfi <- cor(bfi25, use = "pairwise")
b_r <- cortest.bartlett(r_bfi, n = nrow(bfi25))
k_r <- KMO(r_bfi)
writeLines(toJSON(list(
  kmo_overall = k$MSA, kmo_per_item = as.list(k$MSAi),
  kmo_overall_from_r = k_r$MSA,
  bartlett_chi2 = b$chisq, bartlett_df = b$df, bartlett_p = b$p.value,
  bartlett_chi2_from_r = b_r$chisq, n = nrow(bfi25)
), auto_unbox = TRUE, digits = I(dig)), file.path(out, "bfi_kmo_bartlett.json"))

# Small-sample Bartlett where the p-value is not 0 (first 5 items, first 60 rows).
small <- psych::bfi[1:60, 1:5]
write_data(small, "bfi_small.csv")
bs <- suppressWarnings(cortest.bartlett(small))
ks <- KMO(small)
writeLines(toJSON(list(
  bartlett_chi2 = bs$chisq, bartlett_df = bs$df, bartlett_p = bs$p.value,
  kmo_overall = ks$MSA, kmo_per_item = as.list(ks$MSAi)
), auto_unbox = TRUE, digits = I(dig)), file.path(out, "bfi_small.json"))

# ---- Simulated ordinal data -------------------------------------------------
# Two correlated factors, 8 items on 1..5; item 8 has a sparse top category; ~3% NA.
set.seed(20261121)
n <- 400
lam <- matrix(0, 8, 2)
lam[1:4, 1] <- c(0.8, 0.7, 0.6, 0.5)
lam[5:8, 2] <- c(0.75, 0.65, 0.55, 0.6)
phi <- matrix(c(1, 0.3, 0.3, 1), 2)
f <- matrix(rnorm(n * 2), n) %*% chol(phi)
z <- f %*% t(lam) + matrix(rnorm(n * 8), n) %*% diag(sqrt(1 - rowSums((lam %*% phi) * lam)))
cuts <- c(-1.5, -0.5, 0.3, 1.2)
sim1 <- matrix(0L, n, 8)
for (j in 1:8) {
  cj <- cuts + (j - 4.5) * 0.08
  if (j == 8) cj <- c(-1.2, -0.2, 0.7, 2.5)
  sim1[, j] <- as.integer(cut(z[, j], c(-Inf, cj, Inf)))
}
colnames(sim1) <- paste0("v", 1:8)
sim1[sample(length(sim1), round(0.03 * length(sim1)))] <- NA
stopifnot(all(apply(sim1, 2, function(v) length(unique(na.omit(v)))) == 5))
write_data(sim1, "ordinal_sim.csv")
p1 <- suppressWarnings(polychoric(sim1))
write_matrix(p1$rho, "ordinal_sim_rho.csv")
write_matrix(p1$tau, "ordinal_sim_tau.csv")

# EFA on polychoric correlations (psych's fa(cor = "poly"): minres + oblimin by default).
fa1 <- suppressWarnings(fa(sim1, nfactors = 2, cor = "poly", fm = "minres", rotate = "oblimin"))
write_matrix(unclass(fa1$loadings), "ordinal_sim_fa_loadings.csv")
write_matrix(fa1$Phi, "ordinal_sim_fa_phi.csv")

# Items with unequal numbers of categories: psych switches to per-pair thresholds
# (global = FALSE) and replaces empty cells by correct = 0.5 counts.
set.seed(7)
n2 <- 250
z2 <- matrix(rnorm(n2), n2) %*% t(c(0.8, 0.7, 0.6, 0.7, 0.5, 0.6)) +
  matrix(rnorm(n2 * 6), n2) %*% diag(sqrt(1 - c(0.8, 0.7, 0.6, 0.7, 0.5, 0.6)^2))
sim2 <- matrix(0L, n2, 6)
for (j in 1:6) sim2[, j] <- as.integer(cut(z2[, j], c(-Inf, -1.6, -0.6, 0.4, 1.9, Inf)))
sim2[, 5] <- pmin(sim2[, 5], 4L)         # item 5 never uses category 5
colnames(sim2) <- paste0("w", 1:6)
sim2[sample(length(sim2), 30)] <- NA
write_data(sim2, "ordinal_unequal.csv")
p2 <- suppressWarnings(polychoric(sim2))
write_matrix(p2$rho, "ordinal_unequal_rho.csv")
write_matrix(p2$tau, "ordinal_unequal_tau.csv")

# Empty categories with equal top categories (global thresholds kept): item b never uses
# category 1 (threshold -Inf), item c skips the middle category (tied thresholds).
set.seed(3)
n5 <- 200
s5 <- matrix(c(1, .5, .4, .3, .5, 1, .5, .4, .4, .5, 1, .5, .3, .4, .5, 1), 4)
z5 <- matrix(rnorm(n5 * 4), n5) %*% chol(s5)
edge <- apply(z5, 2, function(v) as.integer(cut(v, c(-Inf, -1, -0.3, 0.3, 1, Inf))))
edge[, 2][edge[, 2] == 1] <- 2L
edge[, 3][edge[, 3] == 3] <- 4L
colnames(edge) <- c("a", "b", "c", "d")
edge[sample(length(edge), 20)] <- NA
write_data(edge, "ordinal_edge.csv")
p5 <- suppressWarnings(polychoric(edge))
write_matrix(p5$rho, "ordinal_edge_rho.csv")
write_matrix(p5$tau, "ordinal_edge_tau.csv")

# LSAT6 (binary, 1000 x 5) from psych's bock data.
data(bock, package = "psych")
write_data(lsat6, "lsat6.csv")
p3 <- suppressWarnings(polychoric(lsat6))
write_matrix(p3$rho, "lsat6_rho.csv")
write_matrix(p3$tau, "lsat6_tau.csv")

# Pairwise-missing design whose polychoric matrix is not positive definite, so psych
# smooths it (cor.smooth): a-b and b-c answered together with positive association,
# a-c with negative association, on disjoint sets of rows.
set.seed(11)
m3 <- 120
zz <- function(r) { u <- rnorm(m3); cbind(u, r * u + sqrt(1 - r^2) * rnorm(m3)) }
cat4 <- function(v) as.integer(cut(v, c(-Inf, -0.8, 0, 0.8, Inf)))
nonpd <- matrix(NA_integer_, 3 * m3, 3, dimnames = list(NULL, c("a", "b", "c")))
ab <- zz(0.85); bc <- zz(0.85); ac <- zz(-0.85)
nonpd[1:m3, 1:2] <- apply(ab, 2, cat4)
nonpd[m3 + 1:m3, 2:3] <- apply(bc, 2, cat4)
nonpd[2 * m3 + 1:m3, c(1, 3)] <- apply(ac, 2, cat4)
write_data(nonpd, "ordinal_nonpd.csv")
p4 <- suppressWarnings(polychoric(nonpd))
p4raw <- suppressWarnings(polychoric(nonpd, smooth = FALSE))
stopifnot(min(eigen(p4raw$rho)$values) < 0)
write_matrix(p4$rho, "ordinal_nonpd_rho.csv")
write_matrix(p4raw$rho, "ordinal_nonpd_rho_unsmoothed.csv")

# cor.smooth on a matrix that is not positive definite.
bad <- matrix(c(1, 0.9, 0.1, 0.9, 1, 0.8, 0.1, 0.8, 1), 3,
              dimnames = list(c("a", "b", "c"), c("a", "b", "c")))
sm <- suppressWarnings(cor.smooth(bad))
write_matrix(bad, "smooth_input.csv")
write_matrix(sm, "smooth_output.csv")

writeLines(toJSON(list(psych = as.character(packageVersion("psych")),
                       R = R.version.string), auto_unbox = TRUE),
           file.path(out, "versions.json"))
cat("wrote", out, "\n")
