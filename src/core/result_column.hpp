#pragma once
/// The task table's `result` column: a function task's result bytes or failure message, by row.
///
/// Most rows never have one (every shell command, every task not yet ended, every empty result), so a
/// row holds a 4-byte slot into a list of strings, and the slots themselves exist only once a row
/// has a result: a command-only table pays nothing. (A std::vector<std::string> cost 32 B per row,
/// a fifth of a task's memory; see bench/why.md.)

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/column_memory.hpp"

namespace mpiq::core {

class ResultColumn {
 public:
  size_t size() const noexcept { return rows_; }
  void resize(size_t rows) {
    rows_ = rows;
    if (!slot_.empty()) {
      grow_column(slot_, rows > slot_.size() ? rows - slot_.size() : 0);
      slot_.resize(rows, 0);
    }
  }

  /// Row i's bytes; "" when it has none.
  const std::string& operator[](size_t i) const noexcept {
    if (i < slot_.size() && slot_[i] != 0) return values_[slot_[i] - 1];
    return empty_string();
  }
  /// Sets row i (an empty value stores nothing new).
  void set(size_t i, std::string value) {
    if (i < slot_.size() && slot_[i] != 0) {
      values_[slot_[i] - 1] = std::move(value);
      return;
    }
    if (value.empty()) return;
    if (slot_.empty()) {
      reserve_column(slot_, rows_);
      slot_.assign(rows_, 0);
    }
    values_.push_back(std::move(value));
    slot_[i] = static_cast<uint32_t>(values_.size());
  }

  /// `table.result[i] = bytes` and reads through a non-const table.
  class Ref {
   public:
    Ref(ResultColumn& column, size_t row) noexcept : column_(column), row_(row) {}
    Ref& operator=(std::string value) {
      column_.set(row_, std::move(value));
      return *this;
    }
    Ref& operator=(std::string_view value) { return *this = std::string(value); }
    Ref& operator=(const char* value) { return *this = std::string(value); }
    const std::string& str() const noexcept { return std::as_const(column_)[row_]; }
    operator const std::string&() const noexcept { return str(); }
    bool empty() const noexcept { return str().empty(); }
    size_t size() const noexcept { return str().size(); }
    friend bool operator==(const Ref& a, std::string_view b) noexcept { return a.str() == b; }
    friend std::ostream& operator<<(std::ostream& out, const Ref& r) { return out << r.str(); }

   private:
    ResultColumn& column_;
    size_t row_;
  };
  Ref operator[](size_t i) noexcept { return Ref(*this, i); }

 private:
  static const std::string& empty_string() noexcept {
    static const std::string empty;
    return empty;
  }
  size_t rows_ = 0;
  std::vector<uint32_t> slot_;       // 1 + index into values_; 0 = none. Empty until the first value.
  std::vector<std::string> values_;  // in the order rows got them
};

}  // namespace mpiq::core
