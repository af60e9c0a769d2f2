// The statistics table HAProxy's stats page, its `;csv` export and `show stat` are made of:
// one line per frontend, backend and server, each field under HAProxy's CSV name (qcur, scur,
// stot, bin, econ, status, check_status, hrsp_2xx, ...), read from the live counters. The stats
// page, the CSV and the JSON all render this one table, so they cannot disagree.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::proxy {

class Runtime;

struct StatsLine {
  enum class Type { Frontend = 0, Backend = 1, Server = 2 };
  Type type;
  std::string proxy;   // pxname
  std::string server;  // svname: FRONTEND, BACKEND or the server's name
  // By kStatsColumns index; "" where the field does not apply (or is not measured).
  std::vector<std::string> fields;

  const std::string& get(std::string_view column) const;
};

// HAProxy 2.6's CSV columns in its order, up to agg_check_status (scripts index them by
// position as often as by name).
const std::vector<std::string_view>& statsColumns();

// The table now. `nowUs`: the steady clock, for "for how long" fields.
std::vector<StatsLine> statsTable(Runtime& rt, int64_t nowUs);

// HAProxy's `;csv`: the "# pxname,svname,..." header, then one line per StatsLine.
std::string statsCsv(const std::vector<StatsLine>& table);

// "1h02m", "3m05s", "12s": a duration as HAProxy's page writes it.
std::string humanDuration(int64_t seconds);

}  // namespace tandem::proxy
