# Golden values for acap.network (issue 4): run from the repo root with
#   Rscript tests/r/network.R
# Writes the input graphs and the reference metrics to tests/fixtures/network/.
# Packages: sna (betweenness, closeness, degree, gden, grecip, centralization,
# brokerage), igraph (Burt's constraint), jsonlite.
suppressMessages({
  library(sna)
  library(igraph)
  library(jsonlite)
})

out <- "tests/fixtures/network"
dir.create(out, recursive = TRUE, showWarnings = FALSE)

# ---- input graphs -------------------------------------------------------------
# Each graph: nodes (id, group, board, responded) and valued directed ties 1-5.

make_board15 <- function() {
  set.seed(20130415)
  n <- 15
  ids <- sprintf("b%02d", 1:n)
  group <- rep(c("clinical", "managerial", "lay"), times = c(6, 6, 3))
  m <- matrix(0, n, n)
  active <- 1:13            # b14 and b15 are isolates (on the roster, no ties)
  for (i in active) for (j in active) {
    if (i != j) {
      p <- if (group[i] == group[j]) 0.45 else 0.2
      if (runif(1) < p) m[i, j] <- sample(1:5, 1)
    }
  }
  board <- c(rep(TRUE, 12), FALSE, FALSE, TRUE)
  responded <- rep(TRUE, n)
  responded[c(4, 11)] <- FALSE  # non-respondents for the "observed" option
  list(ids = ids, m = m, group = group, board = board, responded = responded)
}

make_random40 <- function() {
  set.seed(40)
  n <- 40
  ids <- sprintf("r%02d", 1:n)
  m <- rgraph(n, tprob = 0.08) * matrix(sample(1:5, n * n, replace = TRUE), n, n)
  diag(m) <- 0
  group <- sample(c("g1", "g2", "g3", "g4"), n, replace = TRUE)
  list(ids = ids, m = m, group = group, board = rep(TRUE, n),
       responded = rep(TRUE, n))
}

make_study <- function() {
  # A board like the reference study's (about 19 members, density near 0.74).
  set.seed(2013)
  n <- 19
  ids <- sprintf("s%02d", 1:n)
  group <- rep(c("gp", "manager", "lay", "public_health"), times = c(8, 6, 3, 2))
  m <- rgraph(n, tprob = 0.74) * matrix(sample(1:5, n * n, replace = TRUE,
                                               prob = c(0.1, 0.2, 0.3, 0.25, 0.15)), n, n)
  diag(m) <- 0
  list(ids = ids, m = m, group = group, board = rep(TRUE, n),
       responded = rep(TRUE, n))
}

graphs <- list(board15 = make_board15(), random40 = make_random40(),
               study = make_study())

# ---- reference metrics ----------------------------------------------------------
ei <- function(m, group) {
  b <- m > 0
  same <- outer(group, group, "==")
  ext <- sum(b & !same)
  int <- sum(b & same)
  (ext - int) / (ext + int)
}

for (name in names(graphs)) {
  G <- graphs[[name]]
  m <- G$m
  n <- nrow(m)
  b <- (m > 0) * 1
  idx <- which(m > 0, arr.ind = TRUE)
  edges <- data.frame(source = G$ids[idx[, 1]], target = G$ids[idx[, 2]],
                      weight = m[idx])
  edges <- edges[order(edges$source, edges$target), ]
  write.csv(edges, file.path(out, paste0(name, "_edges.csv")), row.names = FALSE)
  write.csv(data.frame(id = G$ids, group = G$group, board = G$board,
                       responded = G$responded),
            file.path(out, paste0(name, "_nodes.csv")), row.names = FALSE)

  br <- brokerage(b, G$group)$raw.nli
  ig <- graph_from_adjacency_matrix(m, mode = "directed", weighted = TRUE)
  node <- data.frame(
    id = G$ids,
    in_degree = sna::degree(b, cmode = "indegree"),
    out_degree = sna::degree(b, cmode = "outdegree"),
    in_strength = sna::degree(m, cmode = "indegree", ignore.eval = FALSE),
    out_strength = sna::degree(m, cmode = "outdegree", ignore.eval = FALSE),
    betweenness = sna::betweenness(m, gmode = "digraph", ignore.eval = TRUE),
    closeness = sna::closeness(m, gmode = "digraph", cmode = "directed"),
    closeness_harmonic = sna::closeness(m, gmode = "digraph", cmode = "suminvdir"),
    constraint = igraph::constraint(ig),     # valued: weights = frequency
    constraint_binary = igraph::constraint(ig, weights = rep(1, ecount(ig))),
    coordinator = br[, "w_I"], itinerant = br[, "w_O"],
    representative = br[, "b_IO"], gatekeeper = br[, "b_OI"],
    liaison = br[, "b_O"])
  write.csv(node, file.path(out, paste0(name, "_node.csv")), row.names = FALSE)

  graph <- list(
    n_nodes = n, n_ties = sum(b),
    density = gden(m, ignore.eval = TRUE),
    valued_density = gden(m, ignore.eval = FALSE),
    reciprocity = grecip(b, measure = "edgewise"),
    degree_centralization = sna::centralization(b, sna::degree, cmode = "freeman"),
    indegree_centralization = sna::centralization(b, sna::degree, cmode = "indegree"),
    outdegree_centralization = sna::centralization(b, sna::degree, cmode = "outdegree"),
    betweenness_centralization = sna::centralization(b, sna::betweenness),
    ei_index = ei(m, G$group))
  # "observed" non-response: a non-respondent's row (out-ties) is missing.
  if (any(!G$responded)) {
    mo <- m
    mo[!G$responded, ] <- NA
    diag(mo) <- 0
    bo <- (mo > 0) * 1
    graph$observed_density <- gden(bo, ignore.eval = TRUE)
    graph$observed_valued_density <- gden(mo, ignore.eval = FALSE)
    graph$observed_reciprocity <- grecip(bo, measure = "edgewise")
    graph$response_rate <- mean(G$responded)
    # "zero": a non-respondent's row read as no ties.
    mz <- m
    mz[!G$responded, ] <- 0
    graph$zero_density <- gden(mz, ignore.eval = TRUE)
    graph$zero_reciprocity <- grecip((mz > 0) * 1, measure = "edgewise")
    # "reconstruct": a non-respondent's i -> j copied from j's report of j -> i.
    mr <- m
    for (i in which(!G$responded)) mr[i, ] <- ifelse(G$responded, m[, i], 0)
    diag(mr) <- 0
    br_r <- (mr > 0) * 1
    graph$reconstruct_density <- gden(mr, ignore.eval = TRUE)
    graph$reconstruct_valued_density <- gden(mr, ignore.eval = FALSE)
    graph$reconstruct_reciprocity <- grecip(br_r, measure = "edgewise")
    graph$reconstruct_betweenness_centralization <- sna::centralization(br_r, sna::betweenness)
    write.csv(data.frame(id = G$ids,
                         out_degree = sna::degree(br_r, cmode = "outdegree"),
                         in_degree = sna::degree(br_r, cmode = "indegree"),
                         betweenness = sna::betweenness(br_r)),
              file.path(out, paste0(name, "_reconstruct_node.csv")), row.names = FALSE)
    # Symmetrised ("max" = either reports, "min" = both report), weights max/min.
    smax <- pmax(m, t(m)); smin <- pmin(m, t(m))
    smin[(m > 0) != (t(m) > 0)] <- 0
    graph$max_density <- gden(smax, ignore.eval = TRUE)
    graph$max_valued_density <- gden(smax, ignore.eval = FALSE)
    graph$min_density <- gden(smin, ignore.eval = TRUE)
    graph$min_valued_density <- gden(smin, ignore.eval = FALSE)
  }
  if (any(!G$board)) {
    keep <- G$board
    graph$board_density <- gden(b[keep, keep], ignore.eval = TRUE)
  }
  write_json(graph, file.path(out, paste0(name, "_graph.json")), auto_unbox = TRUE,
             digits = NA, pretty = TRUE)
}
# ---- outside contacts: Blau (1 - sum p^2) and IQV (Blau / (1 - 1/K)), K = 9 ----
set.seed(9)
cats <- c("gp_practices", "nhs_trusts_acute", "community_providers", "local_authority",
          "public_health", "regional_nhs", "voluntary_sector", "academia", "other")
resp <- sprintf("b%02d", c(1:3, 5:10, 12:13))
rows <- do.call(rbind, lapply(resp, function(r) {
  k <- sample(cats, sample(1:5, 1))
  data.frame(respondent = r, category = k, count = sample(0:6, length(k), replace = TRUE),
             frequency = sample(1:5, length(k), replace = TRUE))
}))
write.csv(rows, file.path(out, "contacts.csv"), row.names = FALSE)
div <- do.call(rbind, lapply(split(rows, rows$respondent), function(d) {
  tot <- sum(d$count)
  p <- d$count / tot
  blau <- if (tot > 0) 1 - sum(p^2) else NA
  data.frame(id = d$respondent[1], outside_ties = tot,
             categories_named = sum(d$count > 0), blau = blau,
             iqv = blau / (1 - 1 / length(cats)),
             mean_frequency = if (tot > 0) sum(d$count * d$frequency) / tot else NA)
}))
write.csv(div, file.path(out, "contacts_diversity.csv"), row.names = FALSE)
cat("wrote", out, "\n")
