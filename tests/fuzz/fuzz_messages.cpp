/// libFuzzer target: the decoders of the messages hub and workers exchange (core/messages.hpp). The
/// first byte picks the decoder, the rest is the message. A message a decoder accepts must encode back
/// to the same bytes where the encoding is one-to-one (hello, orders, indices, count, cancel), and to
/// bytes that decode to the same message otherwise (report).

#include <cstdint>
#include <string>
#include <vector>

#include "core/messages.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace mpiq::core;
using mpiq::fuzz::accepts;
using mpiq::fuzz::check;

template <class Decode, class Encode>
void round_trip(const char* what, const std::vector<char>& message, Decode&& decode, Encode&& encode) {
  bool ok = false;
  std::vector<char> again;
  if (!accepts(what, [&] {
        auto decoded = decode(message);
        ok = true;
        again = encode(decoded);
      }))
    return;
  check(ok && again == message, std::string(what) + ": an accepted message does not encode back to itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<char> message(reinterpret_cast<const char*>(data) + 1,
                                  reinterpret_cast<const char*>(data) + size);
  switch (data[0] % 9) {
    case 0:
      round_trip("decode_hello", message, decode_hello, [](const Hello& h) { return encode(h); });
      break;
    case 1:
      round_trip("decode_orders", message, decode_orders,
                 [](const std::vector<TaskOrder>& o) { return encode(o); });
      break;
    case 2: {
      // The flags byte keeps three bits: compare what two decodings give, through the encoder.
      std::vector<char> first, second;
      if (accepts("decode_report", [&] { first = encode(decode_report(message)); }))
        check(accepts("decode_report", [&] { second = encode(decode_report(first)); }) && first == second,
              "decode_report: an encoded report does not decode to itself");
      break;
    }
    case 3:
      round_trip("decode_count", message, decode_count, [](uint32_t n) { return encode_count(n); });
      break;
    case 4:
      round_trip("decode_indices", message, decode_indices,
                 [](const std::vector<TaskIndex>& t) { return encode(t); });
      break;
    case 5:
      accepts("decode_stop", [&] { decode_stop(message); });
      break;
    case 6:
      round_trip("decode_cancel", message, decode_cancel, [](const Cancel& c) { return encode(c); });
      break;
    case 7:
      accepts("decode_functions", [&] {
        const FunctionBatch batch = decode_functions(message);
        for (const FunctionOrder& o : batch.orders)
          check(o.kind < batch.kinds.size(), "decode_functions: an order's kind is not in its batch");
      });
      break;
    case 8:
      accepts("decode_function_report", [&] { decode_function_report(message); });
      break;
  }
  return 0;
}
