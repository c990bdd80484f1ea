// `mpiq report RUN_DIR [-o FILE]`: one self-contained HTML page of a run (docs/design.md §8): inline
// CSS and SVG, no script, nothing fetched, so it opens from a shared file system or a copy. It reads
// the checkpoint and journal (as `mpiq status` does, changing nothing) and status.json for the hosts
// of the worker ranks. Every attempt is a bar: each task's last one (its row in the table) and the
// earlier ones of tasks that ran again (the checkpoint's /attempts, core/attempt_log.hpp). Past
// --max-bars bars the Gantt chart is aggregated: each worker's lane is cut into columns coloured by
// what ran there most, so a 1,000,000-task run stays a page of a few hundred KiB.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "cli/commands.hpp"
#include "core/task_outcome.hpp"
#include "exec/clock.hpp"
#include "mpiq/error.hpp"
#include "store/atomic_file.hpp"

namespace mpiq::cli {

namespace {

using core::TaskState;
using nlohmann::json;

struct ReportOptions {
  std::string run_dir, output;
  size_t max_bars = 20000;
  size_t max_failures = 200;
  int refresh_s = 0;  // > 0: the page reloads itself this often (mpiq run --report)
};

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' ? '?' : c;
    }
  return out;
}

std::string num(double v, int digits = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string clock_time(double unix_time) {
  const std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm;
  localtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
  return b;
}

// The outcome a bar is coloured by.
const char* outcome_class(const core::TaskTable& t, core::TaskIndex i) {
  switch (t.state[i]) {
    case TaskState::done:
      return "done";
    case TaskState::failed:
      return "failed";
    case TaskState::cancelled:
      return "cancelled";
    default:
      return t.end_time[i] > 0 ? "retried" : "running";  // a failed try that will run again
  }
}

// One attempt on the Gantt chart: a row's last one, or an earlier one.
struct Bar {
  core::TaskIndex task;
  int32_t rank;
  double start, end;
  int64_t earlier;    // its index in the AttemptLog, -1 for the row's last attempt
  uint32_t slot = 0;  // its lane among its rank's, when not aggregated
};

// One row of the Gantt chart: a worker rank, or one of its task slots (tasks that ran at the same time
// on one worker go to different slots).
struct Lane {
  int rank;
  std::string host;
  uint32_t slot = 0;
};

class Page {
 public:
  Page(const core::TaskTable& t, const store::CheckpointMeta& meta, const json& status,
       const ReportOptions& o)
      : t_(t), meta_(meta), status_(status), o_(o), log_(meta.earlier_attempts) {
    now_ = exec::wall_now();
    // The latest earlier attempt of each task: the row still holds that try when the task has not
    // started again since (a retry not yet begun, a stop or a lost worker before a resume), and it is
    // drawn once, as the earlier attempt it is.
    std::unordered_map<core::TaskIndex, double> latest_earlier;
    for (size_t k = 0; k < log_.size(); ++k) {
      const core::EarlierAttempt& a = log_.records()[k];
      if (a.task >= t_.size() || a.start_time <= 0 || a.worker_rank < 0) continue;
      latest_earlier[a.task] = a.start_time;
      bars_.push_back({a.task, a.worker_rank, a.start_time, a.end_time > 0 ? a.end_time : a.start_time,
                       static_cast<int64_t>(k)});
    }
    earlier_bars_ = bars_.size();
    for (core::TaskIndex i = 0; i < t_.size(); ++i) {
      if (t_.is_barrier(i) || t_.start_time[i] <= 0 || t_.worker_rank[i] < 0) continue;
      ran_.push_back(i);
      if (auto it = latest_earlier.find(i); it != latest_earlier.end() && it->second == t_.start_time[i])
        continue;
      bars_.push_back({i, t_.worker_rank[i], t_.start_time[i], end_of(i), -1});
    }
    for (const Bar& b : bars_) {
      t0_ = std::min(t0_, b.start);
      t1_ = std::max(t1_, b.end);
    }
    if (bars_.empty()) t0_ = t1_ = now_;
    if (t1_ <= t0_) t1_ = t0_ + 1;
    std::map<int, std::string> hosts;
    if (status_.contains("workers") && status_["workers"].is_array())
      for (const json& w : status_["workers"])
        if (w.is_object()) hosts[w.value("rank", -1)] = w.value("host", std::string("?"));
    aggregate_ = bars_.size() > o_.max_bars;
    // Slots: per rank, in start order, each bar takes the first slot free by its start.
    std::map<int, uint32_t> slots;
    if (!aggregate_) {
      std::vector<size_t> order(bars_.size());
      for (size_t b = 0; b < order.size(); ++b) order[b] = b;
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return bars_[a].start < bars_[b].start; });
      std::map<int, std::vector<double>> free_at;
      for (size_t b : order) {
        std::vector<double>& f = free_at[bars_[b].rank];
        size_t k = 0;
        while (k < f.size() && f[k] > bars_[b].start) ++k;
        if (k == f.size()) f.push_back(0);
        f[k] = std::max(bars_[b].end, bars_[b].start + 1e-6);
        bars_[b].slot = static_cast<uint32_t>(k);
      }
      for (const auto& [r, f] : free_at) slots[r] = static_cast<uint32_t>(f.size());
    }
    std::map<int, bool> ranks;
    for (const Bar& b : bars_) ranks[b.rank] = true;
    for (const auto& [r, h] : hosts) ranks[r] = true;
    for (const auto& [r, unused] : ranks)
      for (uint32_t k = 0; k < std::max<uint32_t>(1, slots[r]); ++k)
        lanes_.push_back({r, hosts.count(r) ? hosts[r] : "?", k});
    std::stable_sort(lanes_.begin(), lanes_.end(),
                     [](const Lane& a, const Lane& b) { return a.host < b.host; });
    for (size_t l = 0; l < lanes_.size(); ++l)
      if (lanes_[l].slot == 0) lane_of_[lanes_[l].rank] = l;
  }

  std::string html() const {
    std::ostringstream h;
    h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    if (o_.refresh_s > 0) h << "<meta http-equiv=\"refresh\" content=\"" << o_.refresh_s << "\">\n";
    h << "<title>mpiq report: " << esc(o_.run_dir) << "</title>\n<style>\n"
      << kStyle << "</style></head><body>\n";
    h << "<h1>mpiq report</h1>\n<p class=\"sub\">" << esc(o_.run_dir) << " &middot; written "
      << clock_time(now_) << "</p>\n";
    summary(h);
    gantt(h);
    throughput(h);
    histogram(h);
    nodes(h);
    failures(h);
    settings(h);
    h << "</body></html>\n";
    return h.str();
  }

 private:
  static constexpr const char* kStyle =
      "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}"
      "h1{margin:0}h2{margin-top:32px;border-bottom:1px solid #ddd}.sub{color:#666;margin-top:4px}"
      "table{border-collapse:collapse}td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #eee}"
      ".done{fill:#3a9a4a;background:#3a9a4a}.failed{fill:#d0342c;background:#d0342c}"
      ".cancelled{fill:#999;background:#999}.running{fill:#2f6fd0;background:#2f6fd0}"
      ".retried{fill:#e8a33d;background:#e8a33d}.stopped{fill:#9bb4d6;background:#9bb4d6}"
      ".lost{fill:#7b3fa0;background:#7b3fa0}.key span{display:inline-block;width:12px;height:12px;"
      "margin:0 4px 0 12px;vertical-align:middle}pre{background:#f6f6f6;padding:6px;margin:4px 0 12px;"
      "white-space:pre-wrap;font-size:12px}svg text{font-size:11px;fill:#444}.note{color:#666}"
      ".bar:hover{stroke:#000;stroke-width:1}\n";

  double end_of(core::TaskIndex i) const { return t_.end_time[i] > 0 ? t_.end_time[i] : now_; }
  double x(double time, double width) const { return (time - t0_) / (t1_ - t0_) * width; }

  void summary(std::ostream& h) const {
    uint64_t c[core::kTaskStateCount] = {};
    uint64_t total = 0;
    for (core::TaskIndex i = 0; i < t_.size(); ++i)
      if (!t_.is_barrier(i)) {
        ++c[static_cast<size_t>(t_.state[i])];
        ++total;
      }
    h << "<h2>Summary</h2>\n<table><tr><th>tasks</th><td>" << total << "</td></tr>";
    for (size_t s = 0; s < core::kTaskStateCount; ++s)
      if (c[s]) h << "<tr><th>" << core::kTaskStateNames[s] << "</th><td>" << c[s] << "</td></tr>";
    h << "<tr><th>state</th><td>" << esc(status_.value("state", std::string("?"))) << "</td></tr>";
    if (!ran_.empty())
      h << "<tr><th>span</th><td>" << clock_time(t0_) << " &ndash; " << clock_time(t1_) << " ("
        << num(t1_ - t0_) << " s)</td></tr>";
    h << "<tr><th>workers</th><td>" << lane_of_.size() << "</td></tr></table>\n";
  }

  // The class a bar is coloured by.
  const char* bar_class(const Bar& b) const {
    if (b.earlier < 0) return outcome_class(t_, b.task);
    switch (log_.records()[static_cast<size_t>(b.earlier)].end) {
      case core::AttemptEnd::stopped:
        return "stopped";
      case core::AttemptEnd::lost:
        return "lost";
      default:
        return "retried";
    }
  }

  // How an attempt ended, in words, for its hover text.
  static std::string how_it_ended(const core::EarlierAttempt& a) {
    switch (a.end) {
      case core::AttemptEnd::timed_out:
        return "timed out";
      case core::AttemptEnd::start_failed:
        return "could not start";
      case core::AttemptEnd::stopped:
        return "ended by a stop of the run (not counted: the task runs again)";
      case core::AttemptEnd::lost:
        return "its worker was lost; when it ended is not known";
      default:
        return a.signal ? core::signal_words(a.signal) : "exit " + std::to_string(a.exit_code);
    }
  }

  void bar(std::ostream& h, const Bar& b, double y, double left, double width, double height) const {
    const core::TaskIndex i = b.task;
    const double x0 = left + x(b.start, width);
    const double w = std::max(1.5, x(b.end, width) - x(b.start, width));
    const std::string host = esc(lanes_[lane_of_.at(b.rank)].host);
    h << "<rect class=\"bar " << bar_class(b) << "\" data-id=\"" << t_.id[i] << "\"";
    if (b.earlier >= 0) h << " data-earlier=\"1\"";
    h << " x=\"" << num(x0) << "\" y=\"" << y << "\" width=\"" << num(w) << "\" height=\"" << height
      << "\"><title>";
    std::string name;
    if (!t_.name[i].empty()) name = " (" + esc(t_.name[i]) + ")";
    if (b.earlier >= 0) {
      const core::EarlierAttempt& a = log_.records()[static_cast<size_t>(b.earlier)];
      h << "attempt " << a.attempt << " of task " << esc(t_.label(i)) << name << ", line " << t_.id[i] << "\n"
        << how_it_ended(a);
      if (a.end_time > 0) h << ", " << num(a.end_time - a.start_time, 2) << " s";
      if (a.max_rss_kb > 0) h << ", max RSS " << num(static_cast<double>(a.max_rss_kb) / 1024, 1) << " MiB";
    } else {
      h << "attempt " << t_.attempts[i] << " of task " << esc(t_.label(i)) << name << ", line " << t_.id[i]
        << "\n"
        << core::to_string(t_.state[i]);
      if (t_.end_time[i] > 0)
        h << ", "
          << (t_.signal[i] ? "signal " + std::to_string(t_.signal[i])
                           : "exit " + std::to_string(t_.exit_code[i]));
      h << ", " << num(end_of(i) - t_.start_time[i], 2) << " s";
      if (t_.max_rss_kb[i] > 0)
        h << ", max RSS " << num(static_cast<double>(t_.max_rss_kb[i]) / 1024, 1) << " MiB";
    }
    h << "\nrank " << b.rank << " on " << host << "\n"
      << esc(t_.command[i].substr(0, 200)) << "</title></rect>\n";
  }

  void gantt(std::ostream& h) const {
    constexpr double kLeft = 170, kWidth = 1100, kLane = 14;
    const double height = static_cast<double>(lanes_.size()) * kLane + 30;
    h << "<h2>Tasks per worker</h2>\n<p class=\"key\">"
      << "<span class=\"done\"></span>done"
      << "<span class=\"failed\"></span>failed<span class=\"retried\"></span>failed, ran again"
      << "<span class=\"stopped\"></span>ended by a stop, ran again<span class=\"lost\"></span>worker lost"
      << "<span class=\"cancelled\"></span>cancelled<span class=\"running\"></span>running</p>\n";
    const bool aggregate = aggregate_;
    const std::string earlier =
        std::to_string(earlier_bars_) + " earlier attempt" + (earlier_bars_ == 1 ? "" : "s");
    if (aggregate)
      h << "<p class=\"note\">Aggregated: " << ran_.size() << " tasks"
        << (earlier_bars_ ? " and " + earlier + " of tasks that ran again" : std::string()) << " ("
        << bars_.size() << " bars) is more than " << o_.max_bars << " (--max-bars), so each lane is cut into "
        << kColumns << " columns coloured by the outcome that ran longest in them.</p>\n";
    else
      h << "<p class=\"note\">One bar per attempt: each task's last one"
        << (earlier_bars_ ? ", and " + earlier + " of tasks that ran again (a retry, a stop, a lost worker)"
                          : std::string())
        << "; hover for details.</p>\n";
    if (log_.dropped() > 0)
      h << "<p class=\"note\">" << log_.dropped()
        << " more earlier attempts were counted but not kept (at most " << core::AttemptLog::kMaxPerTask
        << " per task and " << core::AttemptLog::kMaxRecords << " in all).</p>\n";
    h << "<svg id=\"gantt\" width=\"" << kLeft + kWidth + 10 << "\" height=\"" << height << "\">\n";
    std::string host;
    for (size_t l = 0; l < lanes_.size(); ++l) {
      const double y = static_cast<double>(l) * kLane;
      if (lanes_[l].slot != 0) continue;
      const std::string label = (lanes_[l].host != host ? lanes_[l].host + " " : std::string()) + "rank " +
                                std::to_string(lanes_[l].rank);
      if (lanes_[l].host != host && l > 0)
        h << "<line x1=\"0\" x2=\"" << kLeft + kWidth << "\" y1=\"" << y << "\" y2=\"" << y
          << "\" stroke=\"#bbb\"/>\n";
      host = lanes_[l].host;
      h << "<text x=\"0\" y=\"" << y + 11 << "\">" << esc(label) << "</text>\n";
    }
    if (!aggregate) {
      for (const Bar& b : bars_)
        bar(h, b, static_cast<double>(lane_of_.at(b.rank) + b.slot) * kLane + 2, kLeft, kWidth, kLane - 3);
    } else {
      // Seconds of each outcome per (lane, column); a column takes the colour that ran longest in it.
      constexpr size_t kOutcomes = 7;
      static constexpr const char* kNames[kOutcomes] = {"done", "failed",    "retried", "stopped",
                                                        "lost", "cancelled", "running"};
      std::vector<std::array<double, kOutcomes>> busy(lanes_.size() * kColumns);
      const double col = (t1_ - t0_) / kColumns;
      for (const Bar& bar : bars_) {
        const std::string_view cls = bar_class(bar);
        const size_t k = static_cast<size_t>(std::find(kNames, kNames + kOutcomes, cls) - kNames);
        const size_t lane = lane_of_.at(bar.rank);  // one lane per rank here
        const double a = bar.start - t0_, b = std::max(bar.end, bar.start + col / 100) - t0_;
        for (size_t c = static_cast<size_t>(std::clamp(a / col, 0.0, kColumns - 1.0));
             c < kColumns && static_cast<double>(c) * col < b; ++c)
          busy[lane * kColumns + c][k] +=
              std::min(b, static_cast<double>(c + 1) * col) - std::max(a, static_cast<double>(c) * col);
      }
      const double w = kWidth / kColumns;
      for (size_t lane = 0; lane < lanes_.size(); ++lane)
        for (size_t c = 0; c < kColumns; ++c) {
          const auto& b = busy[lane * kColumns + c];
          const size_t k = static_cast<size_t>(std::max_element(b.begin(), b.end()) - b.begin());
          if (b[k] <= 0) continue;
          h << "<rect class=\"" << kNames[k] << "\" x=\"" << num(kLeft + static_cast<double>(c) * w)
            << "\" y=\"" << static_cast<double>(lane) * kLane + 2 << "\" width=\"" << num(w + 0.2, 2)
            << "\" height=\"" << kLane - 3 << "\"/>\n";
        }
    }
    const double y = static_cast<double>(lanes_.size()) * kLane + 14;
    h << "<text x=\"" << kLeft << "\" y=\"" << y << "\">0 s</text><text x=\"" << kLeft + kWidth - 60
      << "\" y=\"" << y << "\">" << num(t1_ - t0_) << " s</text>\n</svg>\n";
  }

  // Tasks done over time, against the ideal: the same number at a constant rate over the span.
  void throughput(std::ostream& h) const {
    constexpr double kW = 800, kH = 240, kPad = 40;
    std::vector<double> ends;
    for (core::TaskIndex i : ran_)
      if (t_.state[i] == TaskState::done) ends.push_back(t_.end_time[i]);
    std::sort(ends.begin(), ends.end());
    h << "<h2>Done over time</h2>\n<svg id=\"throughput\" width=\"" << kW + 2 * kPad << "\" height=\""
      << kH + 2 * kPad << "\">\n<rect x=\"" << kPad << "\" y=\"" << kPad << "\" width=\"" << kW
      << "\" height=\"" << kH << "\" fill=\"none\" stroke=\"#ccc\"/>\n";
    if (!ends.empty()) {
      const double n = static_cast<double>(ends.size());
      h << "<polyline fill=\"none\" stroke=\"#3a9a4a\" stroke-width=\"2\" points=\"" << kPad << ","
        << kPad + kH;
      const size_t step = std::max<size_t>(1, ends.size() / 2000);  // at most ~2,000 points
      for (size_t k = 0; k < ends.size(); k += step)
        h << " " << num(kPad + x(ends[k], kW)) << "," << num(kPad + kH - static_cast<double>(k + 1) / n * kH);
      h << " " << num(kPad + x(ends.back(), kW)) << "," << kPad << "\"/>\n";
      h << "<line x1=\"" << kPad << "\" y1=\"" << kPad + kH << "\" x2=\"" << kPad + kW << "\" y2=\"" << kPad
        << "\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n";
      h << "<text x=\"" << kPad << "\" y=\"" << kPad - 8 << "\">" << ends.size()
        << " done; dashed: the same at a constant rate of " << num(n / (t1_ - t0_), 2) << " tasks/s</text>\n";
    }
    h << "</svg>\n";
  }

  void histogram(std::ostream& h) const {
    constexpr size_t kBins = 40;
    constexpr double kW = 800, kH = 200, kPad = 40;
    std::vector<double> d;
    for (core::TaskIndex i : ran_)
      if (t_.state[i] == TaskState::done) d.push_back(t_.end_time[i] - t_.start_time[i]);
    h << "<h2>Durations of done tasks</h2>\n";
    if (d.empty()) {
      h << "<p class=\"note\">No task is done.</p>\n";
      return;
    }
    std::sort(d.begin(), d.end());
    const double hi = std::max(d.back(), 1e-3);
    std::vector<size_t> bins(kBins);
    for (double v : d) ++bins[std::min(kBins - 1, static_cast<size_t>(v / hi * kBins))];
    const size_t top = *std::max_element(bins.begin(), bins.end());
    h << "<p class=\"note\">median " << num(d[d.size() / 2], 2) << " s, 90th percentile "
      << num(d[d.size() * 9 / 10], 2) << " s, longest " << num(d.back(), 2) << " s</p>\n";
    h << "<svg id=\"durations\" width=\"" << kW + 2 * kPad << "\" height=\"" << kH + 2 * kPad << "\">\n";
    for (size_t b = 0; b < kBins; ++b) {
      const double bh = static_cast<double>(bins[b]) / static_cast<double>(top) * kH;
      h << "<rect class=\"done\" x=\"" << num(kPad + static_cast<double>(b) * kW / kBins) << "\" y=\""
        << num(kPad + kH - bh) << "\" width=\"" << num(kW / kBins - 1) << "\" height=\"" << num(bh)
        << "\"><title>" << num(static_cast<double>(b) * hi / kBins, 2) << "-"
        << num(static_cast<double>(b + 1) * hi / kBins, 2) << " s: " << bins[b]
        << " task(s)</title></rect>\n";
    }
    h << "<text x=\"" << kPad << "\" y=\"" << kPad + kH + 16 << "\">0 s</text><text x=\"" << kPad + kW - 50
      << "\" y=\"" << kPad + kH + 16 << "\">" << num(hi, 2) << " s</text>\n</svg>\n";
  }

  // Each node's CPU busy share and memory use over time, from the samples its first worker appends
  // to RUN_DIR/node-HOST.usage (worker/worker.hpp): one line per sample, `time cpu used_kib total_kib`.
  void nodes(std::ostream& h) const {
    struct Sample {
      double time, cpu, used_kib, total_kib;
    };
    std::map<std::string, std::vector<Sample>> by_host;
    std::error_code ec;
    const std::string& out_dir = o_.run_dir;  // where the nodes' first workers put their samples
    for (const auto& e : std::filesystem::directory_iterator(out_dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("node-", 0) != 0 || name.size() < 11 || name.substr(name.size() - 6) != ".usage")
        continue;
      std::ifstream in(e.path());
      Sample x{};
      while (in >> x.time >> x.cpu >> x.used_kib >> x.total_kib)
        by_host[name.substr(5, name.size() - 11)].push_back(x);
    }
    h << "<h2>Nodes</h2>\n";
    if (by_host.empty()) {
      h << "<p class=\"note\">No samples of the nodes' use (" << esc(out_dir) << "/node-HOST.usage).</p>\n";
      return;
    }
    double a = 1e300, b = 0;
    for (const auto& [host, v] : by_host)
      for (const Sample& x : v) {
        a = std::min(a, x.time);
        b = std::max(b, x.time);
      }
    if (b <= a) b = a + 1;
    constexpr double kW = 800, kH = 120, kPad = 40;
    static constexpr const char* kColours[] = {"#2f6fd0", "#d0342c", "#3a9a4a",
                                               "#8e44ad", "#e8a33d", "#16a2b8"};
    h << "<p class=\"note\">Sampled every few seconds by each node's first worker (/proc/stat, "
         "/proc/meminfo): the whole node's use, mpiq's tasks and anything else.</p>\n";
    for (const bool memory : {false, true}) {
      h << "<svg class=\"nodes\" width=\"" << kW + 2 * kPad << "\" height=\"" << kH + 2 * kPad << "\">\n"
        << "<text x=\"" << kPad << "\" y=\"" << kPad - 8 << "\">"
        << (memory ? "memory used, share of the node's" : "CPU busy, share of the node's") << "</text>\n"
        << "<rect x=\"" << kPad << "\" y=\"" << kPad << "\" width=\"" << kW << "\" height=\"" << kH
        << "\" fill=\"none\" stroke=\"#ccc\"/>\n";
      size_t k = 0;
      for (const auto& [host, v] : by_host) {
        h << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" << kColours[k++ % 6] << "\" points=\"";
        const size_t step = std::max<size_t>(1, v.size() / 1000);
        for (size_t i = 0; i < v.size(); i += step) {
          const double y = memory ? v[i].used_kib / std::max(1.0, v[i].total_kib) : v[i].cpu;
          h << num(kPad + (v[i].time - a) / (b - a) * kW) << ","
            << num(kPad + kH - std::clamp(y, 0.0, 1.0) * kH) << " ";
        }
        h << "\"><title>" << esc(host) << "</title></polyline>\n";
      }
      h << "<text x=\"" << kPad << "\" y=\"" << kPad + kH + 16 << "\">" << clock_time(a) << "</text>"
        << "<text x=\"" << kPad + kW - 130 << "\" y=\"" << kPad + kH + 16 << "\">" << clock_time(b)
        << "</text>\n</svg>\n";
    }
    h << "<table><tr><th>host</th><th>samples</th><th>CPU busy (mean)</th><th>memory used (peak)</th></tr>";
    size_t k = 0;
    for (const auto& [host, v] : by_host) {
      double cpu = 0, peak = 0;
      for (const Sample& x : v) {
        cpu += x.cpu;
        peak = std::max(peak, x.used_kib);
      }
      h << "<tr><td><span style=\"color:" << kColours[k++ % 6] << "\">&#9632;</span> " << esc(host)
        << "</td><td>" << v.size() << "</td><td>" << num(100 * cpu / static_cast<double>(v.size()))
        << "%</td><td>" << num(peak / 1048576, 2) << " GiB of " << num(v.back().total_kib / 1048576, 2)
        << "</td></tr>";
    }
    h << "</table>\n";
  }

  void failures(std::ostream& h) const {
    std::vector<core::TaskIndex> failed;
    for (core::TaskIndex i = 0; i < t_.size(); ++i)
      if (t_.state[i] == TaskState::failed) failed.push_back(i);
    h << "<h2 id=\"failures\">Failures (" << failed.size() << ")</h2>\n";
    if (failed.empty()) h << "<p class=\"note\">No task failed.</p>\n";
    for (size_t k = 0; k < failed.size() && k < o_.max_failures; ++k) {
      const core::TaskIndex i = failed[k];
      h << "<div class=\"failure\" data-id=\"" << t_.id[i] << "\"><b>task " << t_.id[i] << "</b>";
      if (!t_.name[i].empty()) h << " (" << esc(t_.name[i]) << ")";
      h << ": " << esc(core::describe_end(t_, i)) << ", attempt " << t_.attempts[i];
      if (const uint32_t earlier = log_.kept_of(i); earlier > 0)
        h << " (" << (earlier >= core::AttemptLog::kMaxPerTask ? "at least " : "") << earlier + 1
          << " attempts in all)";
      h << ", rank " << t_.worker_rank[i] << " &middot; <code>" << esc(t_.command[i].substr(0, 200))
        << "</code>\n";
      const std::string_view tail = core::stderr_tail(t_, i);
      if (!tail.empty()) h << "<pre>" << esc(tail) << "</pre>";
      h << "</div>\n";
    }
    if (failed.size() > o_.max_failures)
      h << "<p class=\"note\">... and " << failed.size() - o_.max_failures << " more: mpiq status "
        << esc(o_.run_dir) << " --tasks failed</p>\n";
  }

  void settings(std::ostream& h) const {
    h << "<h2>Run</h2>\n<table>"
      << "<tr><th>task file</th><td>" << esc(meta_.task_file) << "</td></tr>"
      << "<tr><th>restarts</th><td>" << meta_.restarts << "</td></tr>"
      << "<tr><th>checkpoint</th><td>" << esc(meta_.created) << "</td></tr>"
      << "<tr><th>mpiq</th><td>" << esc(meta_.mpiq_version) << "</td></tr>";
    if (!meta_.slurm_job_ids.empty()) {
      std::string jobs;
      for (const std::string& j : meta_.slurm_job_ids) jobs += (jobs.empty() ? "" : ", ") + j;
      h << "<tr><th>Slurm jobs</th><td>" << esc(jobs) << "</td></tr>";
    }
    for (const char* key : {"started", "updated", "elapsed_s", "rate", "retries", "stolen"})
      if (status_.contains(key))
        h << "<tr><th>" << key << "</th><td>"
          << esc(status_[key].is_string() ? status_[key].get<std::string>() : status_[key].dump())
          << "</td></tr>";
    if (status_.contains("output") && status_["output"].is_object())
      h << "<tr><th>task output</th><td>" << esc(status_["output"].value("mode", std::string())) << " in "
        << esc(status_["output"].value("dir", std::string())) << "</td></tr>";
    h << "</table>\n";
  }

  static constexpr size_t kColumns = 600;
  const core::TaskTable& t_;
  const store::CheckpointMeta& meta_;
  const json& status_;
  const ReportOptions& o_;
  double now_ = 0, t0_ = 1e300, t1_ = 0;
  std::vector<core::TaskIndex> ran_;  // rows that ran (their last attempt)
  const core::AttemptLog& log_;       // earlier attempts
  std::vector<Bar> bars_;             // the earlier attempts first, then the rows' last ones
  size_t earlier_bars_ = 0;
  std::vector<Lane> lanes_;
  bool aggregate_ = false;
  std::map<int, size_t> lane_of_;
};

}  // namespace

std::string render_report(const core::TaskTable& table, const store::CheckpointMeta& meta,
                          const nlohmann::json& status, const std::string& run_dir, int refresh_s) {
  ReportOptions o;
  o.run_dir = run_dir;
  o.refresh_s = refresh_s;
  return Page(table, meta, status, o).html();
}

namespace {

int report(ReportOptions o) {
  while (o.run_dir.size() > 1 && o.run_dir.back() == '/') o.run_dir.pop_back();
  store::CheckpointMeta meta;
  const core::TaskTable table = load_run_state(o.run_dir, &meta);
  json status;
  if (!read_json_object(o.run_dir + "/status.json", &status)) status = json::object();
  const std::string path = o.output.empty() ? o.run_dir + "/report.html" : o.output;
  const std::string page = Page(table, meta, status, o).html();
  if (path == "-") {
    std::cout << page;
    return 0;
  }
  store::write_file_for_readers(path, page);
  std::cout << "mpiq: wrote " << path << " (" << (page.size() + 1023) / 1024 << " KiB)\n";
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd =
      app.add_subcommand("report", "Write one self-contained HTML page of a run, while it goes or after it");
  cmd->footer(
      "Inline CSS and SVG, nothing fetched: every attempt per worker grouped by host, coloured by\n"
      "outcome, with details on hover; tasks done over time; durations; failures with the end of their\n"
      "stderr; the run's settings and restarts.");
  cmd->add_option("RUN_DIR", o->run_dir, "Run directory")->required();
  cmd->add_option("-o,--output", o->output,
                  "Where to write the page (default RUN_DIR/report.html; - = stdout)");
  cmd->add_option("--max-bars", o->max_bars,
                  "Draw one bar per attempt up to this many bars (last and earlier attempts), else "
                  "aggregate (default 20000)")
      ->check(CLI::PositiveNumber);
  cmd->callback([o, exit_code] { *exit_code = report(*o); });
}

}  // namespace mpiq::cli
