# Golden values for acap.network.link (issue 4, item 4): run from the repo root with
#   Rscript tests/r/network_link.R
# Writes seeded input matrices and sna's netlm / qaptest results to
# tests/fixtures/network_link/. Coefficients and t-values are deterministic (compared at
# 1e-8); permutation p-values are compared within Monte-Carlo error.
suppressMessages({
  library(sna)
  library(jsonlite)
})

out <- "tests/fixtures/network_link"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
reps <- 5000

write_mat <- function(m, name) {
  ids <- sprintf("n%02d", seq_len(nrow(m)))
  df <- data.frame(id = ids, m, check.names = FALSE)
  names(df) <- c("id", ids)
  write.csv(df, file.path(out, paste0(name, ".csv")), row.names = FALSE)
}

# ---- case A: binary advice network, 20 people, homophily on score and role --------
set.seed(4101)
n <- 20
score <- round(rnorm(n, 4.5, 1), 2)
role <- sample(c("clinical", "managerial", "lay"), n, replace = TRUE, prob = c(.4, .4, .2))
a_absdiff <- abs(outer(score, score, "-"))
a_samerole <- outer(role, role, "==") * 1
a_recv <- matrix(score, n, n, byrow = TRUE)            # x[i, j] = score of j
eta <- -0.6 - 0.7 * a_absdiff + 0.9 * a_samerole + 0.4 * (a_recv - mean(score))
a_y <- matrix(rbinom(n * n, 1, plogis(eta)), n, n)
diag(a_y) <- 0
# A pure-noise binary graph for a QAP correlation with a moderate p-value.
a_noise <- matrix(rbinom(n * n, 1, 0.3), n, n)
diag(a_noise) <- 0
write_mat(a_y, "a_y"); write_mat(a_absdiff, "a_absdiff"); write_mat(a_samerole, "a_samerole")
write_mat(a_recv, "a_recv"); write_mat(a_noise, "a_noise")

# ---- case B: valued ties (frequency 0-5), 25 people, collinear predictors -----------
set.seed(4102)
n <- 25
b_x1 <- matrix(rnorm(n * n), n, n)
b_x2 <- 0.6 * b_x1 + matrix(rnorm(n * n, sd = 0.8), n, n)      # correlated with x1
b_x3 <- matrix(runif(n * n), n, n)
latent <- 1.5 + 0.5 * b_x1 + 0.0 * b_x2 + 0.3 * b_x3 + matrix(rnorm(n * n), n, n)
b_y <- pmin(pmax(round(latent), 0), 5)
diag(b_y) <- 0
write_mat(b_y, "b_y"); write_mat(b_x1, "b_x1"); write_mat(b_x2, "b_x2"); write_mat(b_x3, "b_x3")

# ---- netlm --------------------------------------------------------------------------
fit_rows <- list()
add_fit <- function(case, nullhyp, fit, seed) {
  k <- length(fit$coefficients)
  data.frame(case = case, nullhyp = nullhyp, term = seq_len(k) - 1,
             estimate = fit$coefficients, tstat = fit$tstat,
             p_greater = fit$pgreq, p_less = fit$pleeq, p_two_sided = fit$pgreqabs,
             reps = reps, n = fit$n, seed = seed)
}
set.seed(1); fa <- netlm(a_y, list(a_absdiff, a_samerole, a_recv), nullhyp = "qapspp", reps = reps)
set.seed(2); fa_y <- netlm(a_y, list(a_absdiff, a_samerole, a_recv), nullhyp = "qapy", reps = reps)
set.seed(3); fb <- netlm(b_y, list(b_x1, b_x2, b_x3), nullhyp = "qapspp", reps = reps)
set.seed(4); fb_y <- netlm(b_y, list(b_x1, b_x2, b_x3), nullhyp = "qapy", reps = reps)
set.seed(5); fb_beta <- netlm(b_y, list(b_x1, b_x2, b_x3), nullhyp = "qapspp",
                              test.statistic = "beta", reps = reps)
fits <- rbind(add_fit("a", "qapspp", fa, 1), add_fit("a", "qapy", fa_y, 2),
              add_fit("b", "qapspp", fb, 3), add_fit("b", "qapy", fb_y, 4),
              add_fit("b", "qapspp_beta", fb_beta, 5))
write.csv(fits, file.path(out, "netlm.csv"), row.names = FALSE)

# ---- qaptest of gcor ------------------------------------------------------------------
q_rows <- list()
qcase <- function(name, x, y, seed) {
  set.seed(seed)
  q <- qaptest(list(x, y), gcor, g1 = 1, g2 = 2, reps = reps)
  data.frame(case = name, statistic = q$testval, p_greater = q$pgreq, p_less = q$pleeq,
             p_two_sided = mean(abs(q$dist) >= abs(q$testval)), reps = reps)
}
qs <- rbind(qcase("a_absdiff_y", a_absdiff, a_y, 11),
            qcase("a_samerole_y", a_samerole, a_y, 12),
            qcase("a_noise_y", a_noise, a_y, 13),
            qcase("b_x3_y", b_x3, b_y, 14),
            qcase("b_x2_y", b_x2, b_y, 15))
write.csv(qs, file.path(out, "qaptest.csv"), row.names = FALSE)

writeLines(toJSON(list(sna = as.character(packageVersion("sna")),
                       R = R.version.string, reps = reps), auto_unbox = TRUE),
           file.path(out, "versions.json"))
