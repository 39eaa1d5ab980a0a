#!/usr/bin/env Rscript
# Read the sematlas release tables (CSV) with base R, print a short summary and plot the field over time:
# studies per year, and the yearly mean latent code of one model with its bootstrap interval.
# Usage: Rscript plot_timeseries.R <release_dir> <out.png> [model]
# No package beyond base R is needed (read.csv, png, graphics).

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 2) stop("usage: Rscript plot_timeseries.R <release_dir> <out.png> [model]", call. = FALSE)
release <- args[1]; out <- args[2]

read_table <- function(name) {
  path <- file.path(release, paste0(name, ".csv"))
  if (!file.exists(path)) stop(path, ": no such table (make the release with `sematlas export tables -o ", release, "`)", call. = FALSE)
  header <- scan(path, what = "", sep = ",", nlines = 1, quiet = TRUE)
  # ids are text (keep them so: they are not numbers to compute with); empty fields are missing values
  read.csv(path, colClasses = if ("id" %in% header) c(id = "character") else NA, na.strings = c("", "NA"), check.names = FALSE)
}

studies <- read_table("studies")
peaks <- read_table("peaks")
models <- read_table("models")
series <- read_table("timeseries_latent")

# --- summary -----------------------------------------------------------------------------------------
cat(sprintf("studies: %d (%d-%d), peaks: %d (median %g per study)\n", nrow(studies), min(studies$year, na.rm = TRUE),
            max(studies$year, na.rm = TRUE), nrow(peaks), median(table(peaks$id))))
cat("split:", paste(names(table(studies$split)), table(studies$split), sep = " ", collapse = ", "), "\n")
cat("peak coordinates (MNI152 mm):", sprintf("x %.0f..%.0f, y %.0f..%.0f, z %.0f..%.0f",
    min(peaks$x), max(peaks$x), min(peaks$y), max(peaks$y), min(peaks$z), max(peaks$z)), "\n")
for (i in seq_len(nrow(models)))
  cat(sprintf("model %-24s %-10s %-8s latent %s\n", models$model[i], models$kind[i], models$status[i], models$latent_dim[i]))

# --- the plot ----------------------------------------------------------------------------------------
with_series <- unique(series$model)
model <- if (length(args) >= 3) args[3] else if (length(with_series)) with_series[1] else NA
if (!is.na(model) && !(model %in% with_series))
  stop("model ", model, " has no yearly series; models with one: ", paste(with_series, collapse = ", "), call. = FALSE)

if (capabilities("cairo")) png(out, width = 1100, height = 450, type = "cairo") else png(out, width = 1100, height = 450)
par(mfrow = c(1, 2), mar = c(5.5, 4.5, 3, 1))
years <- studies$year[!is.na(studies$year)]
per_year <- table(factor(years, levels = seq(min(years), max(years))))      # years without studies show as gaps
barplot(per_year, las = 2, col = "grey70", border = NA, ylab = "studies", main = sprintf("%d studies, %d peaks", nrow(studies), nrow(peaks)))
mtext("publication year", side = 1, line = 4)
if (is.na(model)) {
  plot.new(); title(main = "no model with a yearly series in this release")
} else {
  s <- series[series$model == model, ]
  dims <- head(sort(unique(s$dim)), 3)
  cols <- c("#1b9e77", "#d95f02", "#7570b3")
  yl <- range(s[s$dim %in% dims, c("mean_lo", "mean_hi")])
  plot(NA, xlim = range(s$year), ylim = yl, xlab = "publication year", ylab = "mean latent code",
       main = sprintf("%s: yearly mean code (%g%% bootstrap interval)", model, 100 * s$level[1]))
  for (k in seq_along(dims)) {
    d <- s[s$dim == dims[k], ]; d <- d[order(d$year), ]
    polygon(c(d$year, rev(d$year)), c(d$mean_lo, rev(d$mean_hi)), col = adjustcolor(cols[k], 0.25), border = NA)
    lines(d$year, d$mean, col = cols[k], lwd = 2)
  }
  legend("topleft", legend = paste("dimension", dims), col = cols[seq_along(dims)], lwd = 2, bty = "n")
}
invisible(dev.off())
cat("wrote", out, "\n")
