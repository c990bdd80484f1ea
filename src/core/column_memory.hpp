#pragma once
/// Growth of the task table's columns (vectors of millions of rows) on transparent huge pages.
///
/// On the VMs this project runs on a 4 KiB page fault costs ~10 us: filling a 381 MB vector took 1.18 s,
/// against 0.09 s with MADV_HUGEPAGE (measured with a 50,000,000-element vector; THP is `madvise` on
/// Debian). Loading or submitting millions of tasks is mostly page faults otherwise. So a column that
/// must grow past kHugeColumnBytes moves to a new buffer that is advised *before* the old rows are
/// copied in: std::vector's own growth would fault on every small page while copying.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

namespace mpiq::core {

/// Columns smaller than this grow as std::vector does.
inline constexpr size_t kHugeColumnBytes = size_t{4} << 20;

/// Asks for transparent huge pages for the whole 2 MiB pages inside [data, data + bytes). A hint:
/// does nothing where the kernel has none.
void advise_huge_pages(const void* data, size_t bytes) noexcept;

/// v.reserve(n), on huge pages when the buffer is large.
template <class T>
void reserve_column(std::vector<T>& v, size_t n) {
  if (v.capacity() >= n) return;
  if (n * sizeof(T) < kHugeColumnBytes) {
    v.reserve(n);
    return;
  }
  std::vector<T> grown;
  grown.reserve(n);
  advise_huge_pages(grown.data(), n * sizeof(T));
  grown.insert(grown.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  v.swap(grown);
}

/// The growth of grow_column, out of line: a row appended to a column is a few instructions inline
/// (TaskTable::append touches some twenty columns a row; callgrind counted 26 instructions a column
/// when the growth path was inlined beside each and the whole no longer was).
template <class T>
[[gnu::noinline, gnu::cold]] void grow_column_to(std::vector<T>& v, size_t more) {
  reserve_column(v, std::max(v.size() + more, 2 * v.capacity()));
}

/// Room for `more` elements past size(), doubling the capacity when it must grow.
template <class T>
[[gnu::always_inline]] inline void grow_column(std::vector<T>& v, size_t more) {
  if (v.capacity() - v.size() < more) [[unlikely]]
    grow_column_to(v, more);
}

/// v.push_back(x), growing as grow_column does.
template <class T, class V>
[[gnu::always_inline]] inline void push_column(std::vector<T>& v, V&& x) {
  if (v.size() == v.capacity()) [[unlikely]]
    grow_column_to(v, 1);
  v.push_back(std::forward<V>(x));
}

}  // namespace mpiq::core
