#pragma once

#include "gateway/access/access_service.hpp"
#include "gateway/api/router.hpp"

namespace pushgate::access {

/**
 * Access master data over REST (README.md, REST API; JSON forms in
 * rules/access/README.md). For each of users, timezones, holidays, levels,
 * doors and areas:
 *
 *   GET    /api/v1/access/{kind}?after=&limit=     the entities ordered by key
 *   POST   /api/v1/access/{kind}                   one object, or a list stored in one commit
 *   GET    /api/v1/access/{kind}/{key}             one (doors: /doors/{sn}/{door}, with live state)
 *   PUT    /api/v1/access/{kind}/{key}             create or replace
 *   DELETE /api/v1/access/{kind}/{key}             409 while something refers to it
 *
 *   GET    /api/v1/access/apb                      anti-passback positions
 *   DELETE /api/v1/access/apb, /apb/{pin}          forget every position, or one user's
 *
 * 400 names every bad field; 503 when the store cannot commit (nothing
 * changed). Handlers run on the connection's strand; answers are sent from
 * the thread that completes the change (Reply::send may be called from any).
 */
class AccessApi {
 public:
  static constexpr std::size_t kMaxPage = 10000;

  AccessApi(api::Router& router, AccessService& service);

 private:
  void add_kind(api::Router& router, EntityKind kind);

  AccessService& service_;
};

}  // namespace pushgate::access
