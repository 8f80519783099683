# Reference values for acap.aggregate (rwg, rwg(j), ICC(1), ICC(2)) from R's multilevel package.
#
# Run from the repository root:   Rscript tests/r/aggregate.R
# Writes tests/fixtures/aggregate/:
#   sim_data.csv       seeded simulated data: 25 organisations of unbalanced size, 4 items on 1-7
#                      with an organisation effect, missing values, one polarised organisation
#                      (item variance above the uniform null, so truncation is exercised) and one
#                      organisation left with a single valid answer on item1 (rwg undefined)
#   sim_rwg.csv        multilevel::rwg per organisation, long: measure, null_variance, group, rwg, gsize
#   sim_rwgj.csv       multilevel::rwg.j per organisation, long: null_variance, group, rwg_j, gsize
#   sim_icc.json       ICC1 / ICC2 (multilevel) and the aov mean squares, per measure
#   bh1996.csv         multilevel's bh1996 data (GRP, COHES, LEAD, HRS, WBEING)
#   bh1996_rwg.csv     rwg of WBEING (null 2) and rwg.j of (COHES, LEAD, WBEING) (null 2) per GRP
#   bh1996_icc.json    ICC1 / ICC2 and mean squares for COHES, LEAD, HRS, WBEING by GRP

suppressPackageStartupMessages({
  library(multilevel)
  library(jsonlite)
})

out <- file.path("tests", "fixtures", "aggregate")
dir.create(out, recursive = TRUE, showWarnings = FALSE)
wcsv <- function(x, name) write.csv(x, file.path(out, name), row.names = FALSE, na = "")
wjson <- function(x, name) writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE),
                                       file.path(out, name))

## ---- simulated data -------------------------------------------------------------------------
set.seed(20261121)
n_groups <- 25
sizes <- sample(3:30, n_groups, replace = TRUE)
sizes[25] <- 3                       # small organisation, made to have one valid item1 below
groups <- sprintf("org%02d", seq_len(n_groups))
org <- rep(groups, sizes)
u <- rnorm(n_groups, 0, 0.6)[match(org, groups)]          # organisation effect
e <- rnorm(length(org))                                    # respondent's general view
make_item <- function() pmin(7, pmax(1, round(4 + u + 0.9 * e + rnorm(length(org), 0, 0.8))))
items <- sapply(1:4, function(j) make_item())
colnames(items) <- paste0("item", 1:4)
# org01 polarised: half answer 1, half 7, so item variances exceed the uniform null of 4
pol <- which(org == "org01")
items[pol, ] <- rep(c(1, 7), length.out = length(pol))
# about 6% missing at random
items[matrix(runif(length(items)) < 0.06, nrow(items))] <- NA
# org25: only one valid item1
items[which(org == "org25")[1:2], "item1"] <- NA
items[which(org == "org25")[3], "item1"] <- 5
roles <- c("board", "clinical", "manager", "analyst")
role <- sample(roles, length(org), replace = TRUE, prob = c(0.15, 0.3, 0.4, 0.15))
# scale score: mean of answered items when at least 3 of 4 are answered
answered <- rowSums(!is.na(items))
scale <- ifelse(answered >= 3, rowMeans(items, na.rm = TRUE), NA)
sim <- data.frame(organisation = org, role = role, items, scale = scale)
wcsv(sim, "sim_data.csv")

rwg_long <- function(x, grp, ranvar, measure) {
  r <- rwg(x, grp, ranvar = ranvar)
  data.frame(measure = measure, null_variance = ranvar, group = as.character(r$grpid),
             rwg = r$rwg, gsize = r$gsize)
}
wcsv(rbind(
  rwg_long(sim$item1, sim$organisation, 4, "item1"),
  rwg_long(sim$item1, sim$organisation, 2, "item1"),
  rwg_long(sim$item2, sim$organisation, 4, "item2"),
  rwg_long(sim$scale, sim$organisation, 4, "scale")
), "sim_rwg.csv")

rwgj_long <- function(x, grp, ranvar) {
  r <- rwg.j(x, grp, ranvar = ranvar)
  data.frame(null_variance = ranvar, group = as.character(r$grpid), rwg_j = r$rwg.j, gsize = r$gsize)
}
item_cols <- sim[, paste0("item", 1:4)]
wcsv(rbind(rwgj_long(item_cols, sim$organisation, 4),            # uniform null, 7 points
           rwgj_long(item_cols, sim$organisation, 2)),           # uniform null, 5 points
     "sim_rwgj.csv")

icc_ref <- function(y, grp) {
  fit <- aov(y ~ as.factor(grp))
  tab <- summary(fit)[[1]]
  list(icc1 = ICC1(fit), icc2 = ICC2(fit),
       msb = tab[1, "Mean Sq"], msw = tab[2, "Mean Sq"],
       df_between = tab[1, "Df"], df_within = tab[2, "Df"],
       F = tab[1, "F value"], p = tab[1, "Pr(>F)"])
}
wjson(list(item1 = icc_ref(sim$item1, sim$organisation),
           item3 = icc_ref(sim$item3, sim$organisation),
           scale = icc_ref(sim$scale, sim$organisation)), "sim_icc.json")

## ---- bh1996 (Bliese & Halverson 1996), shipped with multilevel -------------------------------
data(bh1996, package = "multilevel")
bh <- bh1996[, c("GRP", "COHES", "LEAD", "HRS", "WBEING")]
wcsv(bh, "bh1996.csv")
r1 <- rwg(bh$WBEING, bh$GRP, ranvar = 2)
rj <- rwg.j(bh[, c("COHES", "LEAD", "WBEING")], bh$GRP, ranvar = 2)
wcsv(data.frame(group = r1$grpid, rwg_wbeing = r1$rwg, gsize = r1$gsize,
                rwg_j = rj$rwg.j[match(r1$grpid, rj$grpid)]), "bh1996_rwg.csv")
wjson(lapply(c(COHES = "COHES", LEAD = "LEAD", HRS = "HRS", WBEING = "WBEING"),
             function(v) icc_ref(bh[[v]], bh$GRP)), "bh1996_icc.json")
