// Fuzz target: ATTPHOTO uploads (text header, NUL, binary JPEG) and the
// photo file names they carry.
#include <cstddef>
#include <cstdint>

#include "adapters/zkpush/zkpush_protocol.hpp"
#include "tests/fuzz/zkpush_fuzz_support.hpp"

namespace zk = pushgate::adapters::zkpush;
using pushgate::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = pushgate::fuzz::as_text(data, size);
  const zk::AttPhotoResult result = zk::parse_attphoto(body);
  if (result.photo) {
    const zk::AttPhoto& photo = *result.photo;
    require(!photo.file_name.empty());
    require(photo.data_size > 0 && photo.data_offset + photo.data_size == body.size());
    if (auto name = zk::parse_attphoto_name(photo.file_name)) {
      require(name->time.month >= 1 && name->time.month <= 12);
    }
  } else {
    require(!result.problems.empty());
  }
  // The name parser on the raw input too.
  (void)zk::parse_attphoto_name(body.substr(0, 128));
  return 0;
}
