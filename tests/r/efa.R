# Reference values for acap.factor (EFA, rotations, parallel analysis, MAP, omega).
# Run from the repository root:  Rscript tests/r/efa.R
# Writes tests/fixtures/efa/*.csv and *.json; the pytest suite reads them (never needs R).
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

out <- file.path("tests", "fixtures", "efa")
dir.create(out, recursive = TRUE, showWarnings = FALSE)

wcsv <- function(x, name, row_names = TRUE) {
  write.csv(x, file.path(out, name), row.names = row_names, na = "")
}

# ---- input data ------------------------------------------------------------------------
data(bfi, package = "psych")
bfi25 <- bfi[, 1:25]
wcsv(bfi25, "bfi25.csv", row_names = FALSE)

# Seeded simulated data: 12 items, 3 correlated factors, 5% values missing completely at random.
set.seed(20240611)
n <- 600
phi_true <- matrix(c(1, .3, .2, .3, 1, .4, .2, .4, 1), 3)
lam <- matrix(0, 12, 3)
lam[1:4, 1] <- c(.7, .6, .5, .65)
lam[5:8, 2] <- c(.55, .7, .6, .5)
lam[9:12, 3] <- c(.6, .5, .75, .45)
lam[4, 2] <- .3      # one cross-loading so rotations differ
f <- matrix(rnorm(n * 3), n) %*% chol(phi_true)
x <- f %*% t(lam) + matrix(rnorm(n * 12), n) %*% diag(sqrt(1 - rowSums((lam %*% phi_true) * lam)))
x <- round(x, 3)
x[matrix(runif(n * 12) < 0.05, n)] <- NA
sim <- as.data.frame(x)
names(sim) <- sprintf("x%02d", 1:12)
wcsv(sim, "sim12.csv", row_names = FALSE)

# ---- EFA cases -------------------------------------------------------------------------
dump_fa <- function(fit, tag) {
  L <- unclass(fit$loadings)
  wcsv(L, paste0(tag, "_loadings.csv"))
  Phi <- if (is.null(fit$Phi)) diag(ncol(L)) else fit$Phi
  dimnames(Phi) <- list(colnames(L), colnames(L))
  wcsv(Phi, paste0(tag, "_phi.csv"))
  wcsv(data.frame(communality = fit$communality, uniqueness = fit$uniquenesses,
                  row.names = rownames(L)), paste0(tag, "_items.csv"))
  wcsv(fit$Vaccounted, paste0(tag, "_variance.csv"))
  stats <- list(objective = unname(fit$objective), rms = fit$rms, crms = fit$crms,
                chi = fit$chi, dof = fit$dof, STATISTIC = fit$STATISTIC, PVAL = fit$PVAL,
                TLI = fit$TLI, RMSEA = unname(fit$RMSEA[1]), BIC = fit$BIC,
                null_model = fit$null.model, values = fit$values, e_values = fit$e.values)
  write_json(stats, file.path(out, paste0(tag, "_stats.json")), digits = NA, auto_unbox = TRUE)
}

cases <- list(
  list("bfi_minres_oblimin", bfi25, 5, "minres", "oblimin"),
  list("bfi_ml_varimax", bfi25, 5, "ml", "varimax"),
  list("bfi_pa_promax", bfi25, 5, "pa", "promax"),
  list("bfi_minres_quartimin", bfi25, 5, "minres", "quartimin"),
  list("bfi_minres_geominQ", bfi25, 5, "minres", "geominQ"),
  list("bfi_minres_none", bfi25, 5, "minres", "none"),
  list("sim_minres_oblimin", sim, 3, "minres", "oblimin"),
  list("sim_ml_promax", sim, 3, "ml", "promax"),
  list("sim_pa_varimax", sim, 3, "pa", "varimax"),
  list("sim_minres_geominT", sim, 3, "minres", "geominT"),
  list("sim_ml_geominQ", sim, 3, "ml", "geominQ")
)
for (cs in cases) {
  fit <- fa(cs[[2]], nfactors = cs[[3]], fm = cs[[4]], rotate = cs[[5]], warnings = FALSE)
  dump_fa(fit, cs[[1]])
}

# Heywood case: principal axis factoring drives an item's communality above 1.
hey <- matrix(c(1.00, 0.85, 0.85, 0.30, 0.30, 0.25,
                0.85, 1.00, 0.55, 0.33, 0.28, 0.21,
                0.85, 0.55, 1.00, 0.30, 0.24, 0.20,
                0.30, 0.33, 0.30, 1.00, 0.52, 0.48,
                0.30, 0.28, 0.24, 0.52, 1.00, 0.45,
                0.25, 0.21, 0.20, 0.48, 0.45, 1.00), 6,
              dimnames = list(paste0("h", 1:6), paste0("h", 1:6)))
wcsv(hey, "heywood_corr.csv")
fit <- suppressWarnings(fa(hey, nfactors = 2, fm = "pa", rotate = "varimax", n.obs = 200,
                           warnings = FALSE))
dump_fa(fit, "heywood_pa_varimax")
fit <- suppressWarnings(fa(hey, nfactors = 2, fm = "minres", rotate = "varimax", n.obs = 200,
                           warnings = FALSE))
dump_fa(fit, "heywood_minres_varimax")

# ---- retention (parallel analysis is in retention.R: it needs reproducible replicates) ----
v <- vss(bfi25, n = 8, plot = FALSE)
# The fourth-power MAP (Velicer, Eaton & Fava 2000) is not in psych; computed here from the
# same partial correlations so the Python side has an independent reference.
r <- cor(bfi25, use = "pairwise")
e <- eigen(r)
comp <- e$vectors %*% diag(sqrt(e$values))
p <- ncol(r)
map4 <- sapply(1:8, function(i) {
  cs <- r - comp[, 1:i, drop = FALSE] %*% t(comp[, 1:i, drop = FALSE])
  d <- diag(1 / sqrt(diag(cs)))
  rs <- d %*% cs %*% d
  diag(rs) <- 0
  sum(rs^4) / (p * (p - 1))
})
wcsv(data.frame(n_factors = 1:8, map = v$map, map4 = map4), "map_bfi.csv", row_names = FALSE)

vs <- vss(sim, n = 6, plot = FALSE)
wcsv(data.frame(n_factors = 1:6, map = vs$map), "map_sim.csv", row_names = FALSE)

# ---- omega -----------------------------------------------------------------------------
dump_omega <- function(om, tag) {
  write_json(list(omega_h = om$omega_h, omega_tot = om$omega.tot, alpha = om$alpha,
                  omega_lim = om$omega.lim, G6 = om$G6, ECV = unname(om$ECV),
                  gloading = as.numeric(om$schmid$gloading)),
             file.path(out, paste0(tag, ".json")), digits = NA, auto_unbox = TRUE)
  wcsv(unclass(om$schmid$sl), paste0(tag, "_sl.csv"))
  wcsv(om$omega.group, paste0(tag, "_group.csv"))
}
dump_omega(omega(bfi25, plot = FALSE), "omega_bfi3")
dump_omega(omega(bfi25, nfactors = 5, plot = FALSE), "omega_bfi5")
dump_omega(omega(sim, nfactors = 3, plot = FALSE), "omega_sim3")
dump_omega(suppressMessages(omega(sim, nfactors = 2, plot = FALSE)), "omega_sim2")

writeLines(c(paste("psych", as.character(packageVersion("psych"))),
             paste("GPArotation", as.character(packageVersion("GPArotation"))),
             R.version.string), file.path(out, "VERSIONS.txt"))
