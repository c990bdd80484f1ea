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

/// Room for `more` elements past size(), doubling the capacity when it must grow.
template <class T>
void grow_column(std::vector<T>& v, size_t more) {
  if (v.capacity() - v.size() >= more) return;
  reserve_column(v, std::max(v.size() + more, 2 * v.capacity()));
}

/// v.push_back(x), growing as grow_column does.
template <class T, class V>
void push_column(std::vector<T>& v, V&& x) {
  if (v.size() == v.capacity()) grow_column(v, 1);
  v.push_back(std::forward<V>(x));
}

}  // namespace mpiq::core
