# Reference values for acap.change.scale_change: Welch's two-sample t test (R's t.test) on
# simulated answers from two waves, plus each wave's mean and 95% t interval.
set.seed(12)
out <- "tests/fixtures/change"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
cases <- list(c(25, 18, 4.6, 5.1, 1.0, 1.3), c(8, 12, 4.0, 4.1, 0.8, 1.2),
              c(40, 35, 5.2, 4.5, 1.1, 0.9), c(6, 6, 3.5, 3.9, 1.5, 0.7))
answers <- data.frame(); ref <- data.frame()
for (i in seq_along(cases)) {
  p <- cases[[i]]
  now <- round(pmin(7, pmax(1, rnorm(p[1], p[3], p[5]))), 2)
  before <- round(pmin(7, pmax(1, rnorm(p[2], p[4], p[6]))), 2)
  answers <- rbind(answers, data.frame(case = i, wave = "now", value = now),
                   data.frame(case = i, wave = "before", value = before))
  tt <- t.test(now, before)
  ref <- rbind(ref, data.frame(case = i, change = unname(tt$estimate[1] - tt$estimate[2]),
                               ci_low = tt$conf.int[1], ci_high = tt$conf.int[2],
                               df = unname(tt$parameter), p = tt$p.value))
}
write.csv(answers, file.path(out, "answers.csv"), row.names = FALSE)
write.csv(ref, file.path(out, "welch.csv"), row.names = FALSE)
