#include "core/messages.hpp"

#include "mpiq/error.hpp"

namespace mpiq::core {

void Reader::need(size_t n) const {
  if (static_cast<size_t>(end_ - p_) < n) throw Error("malformed message: truncated");
}

std::string Reader::get_string() {
  const auto n = get<uint32_t>();
  need(n);
  std::string s(p_, n);
  p_ += n;
  return s;
}

std::string_view Reader::get_bytes() {
  const auto n = get<uint32_t>();
  need(n);
  std::string_view s(p_, n);
  p_ += n;
  return s;
}

namespace {
void finish(const Reader& r) {
  if (!r.at_end()) throw Error("malformed message: trailing bytes");
}
}  // namespace

std::vector<char> encode(const Hello& h) {
  Writer w;
  w.put_string(h.host);
  w.put_string(h.cpus);
  w.put_string(h.gpus);
  w.put(h.cores);
  w.put(h.gpu_count);
  w.put(h.mem_kb);
  return w.take();
}

Hello decode_hello(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  Hello h;
  h.host = r.get_string();
  h.cpus = r.get_string();
  h.gpus = r.get_string();
  h.cores = r.get<uint32_t>();
  h.gpu_count = r.get<uint32_t>();
  h.mem_kb = r.get<uint64_t>();
  finish(r);
  return h;
}

namespace {

// A flag byte: 0 or 1, so that every message has one encoding (what the fuzz target checks).
bool get_flag(Reader& r) {
  const auto v = r.get<uint8_t>();
  if (v > 1) throw Error("malformed message: a flag byte of " + std::to_string(v));
  return v == 1;
}

void put_order(Writer& w, const TaskOrder& o) {
  w.put(o.task);
  w.put(o.id);
  w.put(o.element);
  w.put(o.attempt);
  w.put(o.cores);
  w.put(o.gpus);
  w.put(o.timeout_s);
  w.put(static_cast<uint8_t>(o.disbatch));
  w.put_string(o.name);
  w.put_string(o.command);
  w.put_string(o.workdir);
}

TaskOrder get_order(Reader& r) {
  TaskOrder o;
  o.task = r.get<TaskIndex>();
  o.id = r.get<TaskId>();
  o.element = r.get<uint32_t>();
  o.attempt = r.get<uint32_t>();
  o.cores = r.get<uint32_t>();
  o.gpus = r.get<uint32_t>();
  o.timeout_s = r.get<uint32_t>();
  o.disbatch = get_flag(r);
  o.name = r.get_string();
  o.command = r.get_string();
  o.workdir = r.get_string();
  return o;
}

}  // namespace

std::vector<char> encode(const std::vector<TaskOrder>& orders) {
  Writer w;
  w.put<uint32_t>(static_cast<uint32_t>(orders.size()));
  for (const TaskOrder& o : orders) put_order(w, o);
  return w.take();
}

std::vector<TaskOrder> decode_orders(const std::vector<char>& b) {
  Reader r2(b.data(), b.size());
  const auto n = r2.get<uint32_t>();
  if (n > b.size()) throw Error("malformed message: bad count");  // each order takes > 1 byte
  std::vector<TaskOrder> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out.push_back(get_order(r2));
  finish(r2);
  return out;
}

std::vector<char> encode(const Report& rep) {
  Writer w;
  w.put<uint32_t>(static_cast<uint32_t>(rep.started.size()));
  for (const auto& s : rep.started) {
    w.put(s.task);
    w.put(s.time);
  }
  w.put<uint32_t>(static_cast<uint32_t>(rep.finished.size()));
  for (const TaskResult& f : rep.finished) {
    w.put(f.task);
    w.put(f.exit_code);
    w.put(f.signal);
    w.put<uint8_t>(
        static_cast<uint8_t>((f.timed_out ? 1 : 0) | (f.spawn_failed ? 2 : 0) | (f.interrupted ? 4 : 0)));
    w.put(f.start_time);
    w.put(f.end_time);
    w.put(f.max_rss_kb);
    w.put_string(f.output);
  }
  return w.take();
}

Report decode_report(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  Report rep;
  auto n = r.get<uint32_t>();
  if (n > b.size()) throw Error("malformed message: bad count");
  rep.started.resize(n);
  for (auto& s : rep.started) {
    s.task = r.get<TaskIndex>();
    s.time = r.get<double>();
  }
  n = r.get<uint32_t>();
  if (n > b.size()) throw Error("malformed message: bad count");
  rep.finished.resize(n);
  for (TaskResult& f : rep.finished) {
    f.task = r.get<TaskIndex>();
    f.exit_code = r.get<int32_t>();
    f.signal = r.get<int32_t>();
    const auto flags = r.get<uint8_t>();
    f.timed_out = flags & 1;
    f.spawn_failed = flags & 2;
    f.interrupted = flags & 4;
    f.start_time = r.get<double>();
    f.end_time = r.get<double>();
    f.max_rss_kb = r.get<int64_t>();
    f.output = r.get_string();
  }
  finish(r);
  return rep;
}

std::vector<char> encode_count(uint32_t n) {
  Writer w;
  w.put(n);
  return w.take();
}

uint32_t decode_count(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  const auto n = r.get<uint32_t>();
  finish(r);
  return n;
}

std::vector<char> encode(const std::vector<TaskIndex>& tasks) {
  Writer w;
  w.put<uint32_t>(static_cast<uint32_t>(tasks.size()));
  for (TaskIndex t : tasks) w.put(t);
  return w.take();
}

std::vector<TaskIndex> decode_indices(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  const auto n = r.get<uint32_t>();
  if (n > b.size()) throw Error("malformed message: bad count");
  std::vector<TaskIndex> out(n);
  for (TaskIndex& t : out) t = r.get<TaskIndex>();
  finish(r);
  return out;
}

std::vector<char> encode(const Stop& s) {
  Writer w;
  // Reserved first: g++ 12 at -O3 warned (-Wstringop-overflow, a false positive) on the order's
  // puts into the two-byte buffer it had just grown.
  w.reserve(64 + (s.node_stop ? s.node_stop->name.size() + s.node_stop->command.size() +
                                    s.node_stop->workdir.size() : 0));
  w.put<uint8_t>(s.kill_running ? 1 : 0);
  w.put<uint8_t>(s.node_stop ? 1 : 0);
  if (s.node_stop) put_order(w, *s.node_stop);
  return w.take();
}

Stop decode_stop(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  Stop s;
  s.kill_running = get_flag(r);
  if (get_flag(r)) s.node_stop = get_order(r);
  finish(r);
  return s;
}

std::vector<char> encode(const Cancel& c) {
  Writer w;
  w.put<double>(c.grace_s);
  w.put<uint32_t>(static_cast<uint32_t>(c.tasks.size()));
  for (TaskIndex t : c.tasks) w.put(t);
  return w.take();
}

Cancel decode_cancel(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  Cancel c;
  c.grace_s = r.get<double>();
  const auto n = r.get<uint32_t>();
  if (n > b.size()) throw Error("malformed message: bad count");
  c.tasks.resize(n);
  for (TaskIndex& t : c.tasks) t = r.get<TaskIndex>();
  finish(r);
  if (!(c.grace_s >= 0)) throw Error("malformed message: bad grace");
  return c;
}

std::vector<char> encode_functions(const TaskTable& table, std::span<const TaskIndex> tasks,
                                   bool report_starts) {
  // Kind names are sent once per message: map the table's kind index to the message's.
  std::vector<uint16_t> slot(table.kind_names.size(), UINT16_MAX);
  std::vector<uint16_t> used;
  size_t payload_bytes = 0;
  for (TaskIndex t : tasks) {
    const uint16_t k = table.kind[t];
    if (slot[k] == UINT16_MAX) {
      slot[k] = static_cast<uint16_t>(used.size());
      used.push_back(k);
    }
    payload_bytes += table.payload[t].size();
  }
  Writer w;
  w.reserve(16 + used.size() * 16 + tasks.size() * 22 + payload_bytes);
  w.put<uint8_t>(report_starts ? 1 : 0);
  w.put<uint16_t>(static_cast<uint16_t>(used.size()));
  for (uint16_t k : used) w.put_bytes(table.kind_names[k]);
  w.put<uint32_t>(static_cast<uint32_t>(tasks.size()));
  for (TaskIndex t : tasks) {
    w.put(t);
    w.put(table.id[t]);
    w.put<uint32_t>(table.attempts[t] + 1);
    w.put(table.timeout_s[t]);
    w.put<uint16_t>(slot[table.kind[t]]);
    w.put_bytes(table.payload[t]);
  }
  return w.take();
}

FunctionBatch decode_functions(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  FunctionBatch batch;
  batch.report_starts = get_flag(r);
  const auto kinds = r.get<uint16_t>();
  if (kinds > b.size()) throw Error("malformed message: bad count");
  for (uint16_t k = 0; k < kinds; ++k) batch.kinds.emplace_back(r.get_bytes());
  const auto n = r.get<uint32_t>();
  if (n > b.size()) throw Error("malformed message: bad count");
  batch.orders.resize(n);
  for (FunctionOrder& o : batch.orders) {
    o.task = r.get<TaskIndex>();
    o.id = r.get<TaskId>();
    o.attempt = r.get<uint32_t>();
    o.timeout_s = r.get<uint32_t>();
    o.kind = r.get<uint16_t>();
    if (o.kind >= kinds) throw Error("malformed message: bad kind index");
    o.payload = r.get_bytes();
  }
  finish(r);
  return batch;
}

void FunctionReportWriter::add(TaskIndex task, uint8_t outcome, double start_time, double end_time,
                               std::string_view output) {
  writer_.put(task);
  writer_.put(outcome);
  writer_.put(start_time);
  writer_.put(end_time);
  writer_.put_bytes(output);
  ++count_;
}

std::vector<char> FunctionReportWriter::take() {
  writer_.put_at<uint32_t>(0, count_);
  std::vector<char> out = writer_.take();
  writer_ = Writer();
  writer_.put<uint32_t>(0);
  count_ = 0;
  return out;
}

std::vector<TaskResult> decode_function_report(const std::vector<char>& b) {
  Reader r(b.data(), b.size());
  const auto n = r.get<uint32_t>();
  if (n > b.size()) throw Error("malformed message: bad count");
  std::vector<TaskResult> out(n);
  for (TaskResult& f : out) {
    f.task = r.get<TaskIndex>();
    const auto outcome = r.get<uint8_t>();
    if (outcome > 3) throw Error("malformed message: bad outcome");
    f.exit_code = outcome == 0 ? 0 : outcome == 1 ? 1 : -1;
    f.timed_out = outcome == 2;
    f.interrupted = outcome == 3;
    f.start_time = r.get<double>();
    f.end_time = r.get<double>();
    f.output = r.get_bytes();
  }
  finish(r);
  return out;
}

TaskOrder make_order(const TaskTable& table, TaskIndex t) {
  TaskOrder o;
  o.task = t;
  o.id = table.id[t];
  o.element = table.element[t];
  o.attempt = table.attempts[t] + 1;
  o.cores = table.cores[t];
  o.gpus = table.gpus[t];
  o.timeout_s = table.timeout_s[t];
  o.disbatch = (table.flags[t] & kDisbatch) != 0;
  // A sweep's elements share the name its join row (the last row of its id) holds.
  o.name = o.element == kNoElement ? table.name[t] : table.name[table.rows_of(o.id).second - 1];
  o.command = table.command[t];
  o.workdir = table.workdir[t];
  return o;
}

}  // namespace mpiq::core
