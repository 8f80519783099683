# Reference values for acap.reliability (alpha, split_half) from R's psych package.
#
# Run from the repository root:   Rscript tests/r/reliability.R
# Writes tests/fixtures/reliability/:
#   bfi.csv          psych::bfi agreeableness and conscientiousness items (A1-A5, C1-C5), with NAs
#   sim_items.csv    seeded simulated data: 300 respondents x 8 items on 1-7, item8 negatively
#                    keyed, about 5% of cells missing (the case sim_keyed_narrow recodes item8's
#                    1s to 2 in R and in the test)
#   alpha.json       psych::alpha results per case: totals, Feldt CIs, the item statistics and the
#                    alpha-if-deleted table (full precision)
#   split_half.json  psych::splitHalf results per case (max, min, mean, lambda2/6, alpha, quantiles
#                    of all splits), plus first/last-half and odd/even splits computed here from the
#                    same keyed pairwise matrix, and all-splits statistics for odd k via combn

suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})

out <- file.path("tests", "fixtures", "reliability")
dir.create(out, recursive = TRUE, showWarnings = FALSE)
wcsv <- function(x, name) write.csv(x, file.path(out, name), row.names = FALSE, na = "")
wjson <- function(x, name) writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE,
                                             na = "null"),
                                       file.path(out, name))

## ---- input data ------------------------------------------------------------------------------
data(bfi, package = "psychTools")
bfi_sub <- bfi[, c(paste0("A", 1:5), paste0("C", 1:5))]
wcsv(bfi_sub, "bfi.csv")

set.seed(20261121)
n <- 300
f <- rnorm(n)
loads <- c(0.8, 0.7, 0.75, 0.6, 0.65, 0.5, 0.55, -0.7)
sim <- sapply(loads, function(l) pmin(7, pmax(1, round(4 + 1.3 * (l * f + rnorm(n, 0, sqrt(1 - l^2)))))))
colnames(sim) <- paste0("item", 1:8)
sim[matrix(runif(length(sim)) < 0.05, nrow(sim))] <- NA
sim <- as.data.frame(sim)
wcsv(sim, "sim_items.csv")

## ---- alpha -----------------------------------------------------------------------------------
alpha_case <- function(name, file, x, reverse = character(0), scale = NULL) {
  keys <- ifelse(colnames(x) %in% reverse, -1, 1)
  a <- suppressWarnings(suppressMessages(
    if (any(keys < 0)) psych::alpha(x, keys = keys, warnings = FALSE) else psych::alpha(x, warnings = FALSE)))
  tot <- a$total
  st <- a$item.stats
  dr <- a$alpha.drop
  nsub <- nrow(x); k <- ncol(x)
  ci90 <- alpha.ci(tot$raw_alpha, nsub, k, p.val = 0.10)
  items <- data.frame(
    item = colnames(x),
    n = st$n, raw_r = st$raw.r, std_r = st$std.r, r_cor = st$r.cor, r_drop = st$r.drop,
    mean = st$mean, sd = st$sd,
    alpha_if_deleted = dr$raw_alpha, std_alpha_if_deleted = dr$std.alpha,
    g6_if_deleted = dr[["G6(smc)"]], average_r_if_deleted = dr$average_r,
    sn_if_deleted = dr[["S/N"]], alpha_se_if_deleted = dr[["alpha se"]],
    var_r_if_deleted = dr$var.r, med_r_if_deleted = dr$med.r)
  list(name = name, file = file, items_used = colnames(x), reverse = reverse, scale = scale,
       n = nsub, k = k,
       total = list(alpha = tot$raw_alpha, std_alpha = tot$std.alpha, g6 = tot[["G6(smc)"]],
                    average_r = tot$average_r, sn = tot[["S/N"]], ase = tot$ase,
                    mean = tot$mean, sd = tot$sd, median_r = tot$median_r,
                    var_r = unname(unlist(a$var.r))),
       feldt = list(lower = a$feldt$lower.ci[[1]], upper = a$feldt$upper.ci[[1]]),
       feldt90 = list(lower = ci90$lower.ci[[1]], upper = ci90$upper.ci[[1]]),
       items = items)
}

cases <- list(
  alpha_case("bfi_A", "bfi.csv", bfi_sub[, paste0("A", 1:5)], reverse = "A1"),
  alpha_case("bfi_C", "bfi.csv", bfi_sub[, paste0("C", 1:5)], reverse = c("C4", "C5")),
  alpha_case("bfi_A_unkeyed", "bfi.csv", bfi_sub[, paste0("A", 2:5)]),
  alpha_case("bfi_two_items", "bfi.csv", bfi_sub[, c("A2", "A3")]),
  alpha_case("sim_keyed", "sim_items.csv", sim, reverse = "item8"),
  alpha_case("sim_first7", "sim_items.csv", sim[, 1:7]),
  # the reversed item's own range (2-7) differs from the range over all items (1-7): psych
  # reverses with the latter, so this case tells the two rules apart
  alpha_case("sim_keyed_narrow", "sim_items.csv", transform(sim, item8 = pmax(2, item8)),
             reverse = "item8")
)
# A response scale wider than the observed values: reverse by hand (0 + 10 - x) and let acap do
# the same through scale = (0, 10); with missing data this moves raw_r, the item mean and the
# total's mean and sd, so the fixture can tell the rules apart.
xs <- bfi_sub[, paste0("A", 1:5)]
xs$A1 <- 10 - xs$A1
manual <- alpha_case("bfi_A_scale_0_10", "bfi.csv", xs)
manual$reverse <- "A1"
manual$scale <- c(0, 10)
cases[[length(cases) + 1]] <- manual
wjson(cases, "alpha.json")

## ---- split half ------------------------------------------------------------------------------
keyed_matrix <- function(x, keys, covar) {
  r <- cov(x, use = "pairwise")
  if (!covar) r <- cov2cor(r)
  diag(keys) %*% r %*% diag(keys)
}
split_stats <- function(r, a) {            # a: indices of one half
  k <- ncol(r); inA <- seq_len(k) %in% a
  vA <- sum(r[inA, inA]); vB <- sum(r[!inA, !inA]); cAB <- sum(r[inA, !inA])
  rab <- cAB / sqrt(vA * vB)
  list(r_halves = rab, spearman_brown = 2 * rab / (1 + rab), guttman = 4 * cAB / sum(r))
}
split_case <- function(name, file, x, reverse = character(0), covar = FALSE) {
  keys <- ifelse(colnames(x) %in% reverse, -1, 1)
  s <- suppressWarnings(splitHalf(x, raw = TRUE, covar = covar, key = keys, check.keys = FALSE))
  r <- keyed_matrix(x, keys, covar)
  k <- ncol(x); m <- k %/% 2
  all_splits <- apply(combn(k, m), 2, function(a) split_stats(r, a)$guttman)
  if (k %% 2 == 0) all_splits <- all_splits[seq_len(length(all_splits) / 2)]
  list(name = name, file = file, items_used = colnames(x), reverse = reverse, covar = covar,
       psych = list(max = s$maxrb, min = s$minrb, mean = s$meanr, alpha = s$alpha,
                    lambda2 = s$lambda2, lambda6 = s$lambda6, average_r = s$av.r,
                    median_r = s$med.r, n_splits = length(s$raw),
                    ci = unname(quantile(s$raw, c(0.025, 0.5, 0.975))),
                    max_halves = lapply(s$maxAB, function(v) sub("^-", "", v)),
                    min_halves = lapply(s$minAB, function(v) sub("^-", "", v))),
       all = list(max = max(all_splits), min = min(all_splits), mean = mean(all_splits),
                  n_splits = length(all_splits),
                  ci = unname(quantile(all_splits, c(0.025, 0.5, 0.975)))),
       first_last = split_stats(r, seq_len(m)),
       odd_even = split_stats(r, seq(1, k, by = 2)))
}
split_cases <- list(
  split_case("sim_keyed", "sim_items.csv", sim, reverse = "item8"),
  split_case("sim_keyed_covar", "sim_items.csv", sim, reverse = "item8", covar = TRUE),
  split_case("bfi_AC", "bfi.csv", bfi_sub, reverse = c("A1", "C4", "C5")),
  split_case("bfi_A", "bfi.csv", bfi_sub[, paste0("A", 1:5)], reverse = "A1"),
  split_case("sim_first7", "sim_items.csv", sim[, 1:7])
)
wjson(split_cases, "split_half.json")
