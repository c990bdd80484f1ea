/// libFuzzer target: the output stream reader (store/output_stream.hpp), as `mpiq cat` reads a
/// stream, then its writer as a resumed worker opens it: what the reader accepts, the writer must
/// continue so that the reader sees every old record and the new one.

#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "store/output_stream.hpp"

using mpiq::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mpiq::fuzz::InputFile file("stream");
  const std::string input(mpiq::fuzz::bytes(data, size));
  mpiq::store::OutputStreamFile parsed;
  if (!mpiq::fuzz::accepts("parse_output_stream", [&] { parsed = mpiq::store::parse_output_stream(input); }))
    return 0;
  check(parsed.valid_end + parsed.torn_bytes == size,
        "parse_output_stream: valid and torn bytes do not add up");
  for (const mpiq::store::OutputRecord& r : parsed.records)
    check(r.data.data() >= parsed.bytes.data() &&
              r.data.data() + r.data.size() <= parsed.bytes.data() + parsed.valid_end,
          "parse_output_stream: a record's data lies outside the whole records");

  const std::string& path = file.write(input);
  check(mpiq::fuzz::accepts("OutputStream",
                            [&] {
                              mpiq::store::OutputStream stream(path, parsed.rank, parsed.run_dir, 7);
                              stream.append(42, mpiq::store::kNoElement, 1, mpiq::store::OutputChannel::err,
                                            "tail");
                            }),
        "OutputStream refused a stream that parse_output_stream accepted");
  mpiq::store::OutputStreamFile again;
  check(mpiq::fuzz::accepts("read_output_stream", [&] { again = mpiq::store::read_output_stream(path); }),
        "a stream continued by OutputStream does not read back");
  check(again.records.size() == parsed.records.size() + 1 && again.torn_bytes == 0,
        "a stream continued by OutputStream lost records or left a torn tail");
  const mpiq::store::OutputRecord& last = again.records.back();
  check(last.task == 42 && last.run == 7 && last.data == "tail", "the appended record does not read back");
  return 0;
}
