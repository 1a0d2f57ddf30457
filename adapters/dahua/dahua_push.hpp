#pragma once

// Push mode: the bodies a Dahua device POSTs to the gateway when its
// EventHttpUpload / PictureHttpUpload table points at pushgate. Pure (see
// dahua_event.hpp); the HTTP server, Digest check and the "200 only after the
// commit" rule belong to the adapter.
//
// Body forms [obs: zzhandoss/dahua-terminal-adapter access-control-push.ts;
// bolkonskiy/dahua-acs-ha webhook_payload.py; doc: Intelbras "Servidor de
// Envio de Eventos"]:
// - JSON `{"Code":"AccessControl","Action":"Pulse","Index":0,"Data":{..}}`;
// - the stream's semicolon text form (`Code=..;action=..;data={..}`), one or
//   more records;
// - PictureHttpUpload: multipart with a part `name="info"` holding
//   `{"Channel":0,"Events":[{..}]}` and image parts;
// - any of them with `Content-Encoding: deflate` (raw or zlib-wrapped: both
//   occur, detected from the header bytes; a body labelled deflate that is
//   plain text is taken as it is, as ASI1212 firmware does) or `gzip`.
// Inflation is capped (`max_inflated_bytes`): a zip bomb is an error after at
// most that many bytes of output.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/dahua/dahua_event.hpp"

namespace pushgate::adapters::dahua {

struct PushLimits {
  std::size_t max_inflated_bytes = 1024 * 1024;  ///< decoded body cap (zip bombs)
  std::size_t max_events = 256;                  ///< events per body
  std::size_t max_images = 4;                    ///< image parts whose bytes are kept
  std::size_t max_image_bytes = 512 * 1024;      ///< bytes kept of one image part
  std::size_t max_parts = 64;                    ///< multipart parts read
};

/** The body after Content-Encoding, or why it could not be decoded. */
struct DecodedBody {
  std::string bytes;
  std::string coding;  ///< what was found: "identity", "plain-labelled-deflate", "deflate-raw",
                       ///< "deflate-zlib", "gzip"
  std::string error;   ///< "" when ok
  bool ok() const noexcept { return error.empty(); }
};

/** Undoes `Content-Encoding` (identity, deflate raw or zlib, gzip, x-gzip) with a size cap. */
DecodedBody decode_content_encoding(std::string_view content_encoding, std::string_view body,
                                    std::size_t max_inflated_bytes);

/** An image part of a PictureHttpUpload. */
struct PushImage {
  std::string name;          ///< the part's form name
  std::string filename;      ///< the part's filename ("" when none)
  std::string content_type;  ///< the part's Content-Type
  std::size_t size = 0;      ///< bytes the part held
  bool kept = false;         ///< `bytes` holds the image (within the caps)
  std::string bytes;
};

/** Everything one push request carried. */
struct PushBody {
  std::vector<EventParse> events;  ///< one per event object or record (events or errors)
  std::vector<PushImage> images;
  std::optional<int> channel;         ///< PictureHttpUpload info "Channel"
  std::vector<std::string> problems;  ///< body-level problems (decoding, shape, caps)
  std::string coding;                 ///< what decode_content_encoding found
  std::size_t refused_events = 0;     ///< events beyond max_events (not in `events`)
  /** True when at least one event decoded and nothing made the body unreadable. */
  bool usable() const noexcept;
};

/**
 * Decodes one push request body. `content_type` picks the form (JSON,
 * text, multipart); when it is missing or generic the body is sniffed
 * (`{`/`[` JSON, `Code=` text, `--` multipart).
 */
PushBody parse_push_body(std::string_view content_type, std::string_view content_encoding,
                         std::string_view body, const PushLimits& limits = {});

/** True for the devices' keep-alive GETs (`/EventHttpUpload/keepalive`, `.../keepalive`). */
bool is_push_keepalive(std::string_view target) noexcept;

}  // namespace pushgate::adapters::dahua
