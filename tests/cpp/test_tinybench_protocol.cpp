// Host test program for arduino_sketches/common/tinybench_protocol.h.
//
// tests/test_sketch_header.py compiles it with g++ -std=c++17 -Wall -Werror and runs it in one
// of these modes, comparing what it prints with tinybench/protocol.py and numpy:
//
//   selftest   built-in checks; prints "ok <n> checks" or the failed ones, exit status 1
//   checksum   stdin: one hex-encoded line per line; prints the checksum as two hex digits
//   commands N stdin: one hex-encoded command line per line, fed byte by byte to a
//              CommandReader with an N-byte payload buffer; prints one result line per line:
//              "ok <kind> <payload length> <payload hex>" or "error <message>" or "none"
//   format     stdin: requests such as "sample <seq> <t_us> <hexfloat>..."; prints the lines
//   quantize   stdin: "<x> <mean> <std> <scale> <zero_point>" as hex floats; prints the int8
//   window     stdin: "<scale> <zp> <n_norm> <means...> <stds...> <36 values...>"; pushes 6
//              samples of 6 values into a 4-sample window and prints its 24 int8, oldest first

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tinybench_protocol.h"

namespace {

int g_checks = 0;
int g_failures = 0;

void check(bool ok, const char* what, int line) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    std::printf("FAILED line %d: %s\n", line, what);
  }
}

#define CHECK(expr) check((expr), #expr, __LINE__)

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>((tinybench::hex_value(hex[i]) << 4) |
                                    tinybench::hex_value(hex[i + 1])));
  }
  return out;
}

double parse_double(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

bool read_line(std::string& line) {
  line.clear();
  int c;
  while ((c = std::getchar()) != EOF) {
    if (c == '\n') return true;
    line.push_back(static_cast<char>(c));
  }
  return !line.empty();
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  tinybench::LineWriter line(buffer, sizeof(buffer));
  line.fixed(value, decimals);
  return std::string(buffer, line.length());
}

std::string number(double value) {
  char buffer[64];
  tinybench::LineWriter line(buffer, sizeof(buffer));
  line.number(value, 4);
  return std::string(buffer, line.length());
}

tinybench::Command feed_line(tinybench::CommandReader& reader, const char* text) {
  tinybench::Command result{tinybench::CommandKind::kNone, 0, nullptr};
  for (const char* p = text; *p != '\0'; ++p) {
    tinybench::Command command = reader.feed(*p);
    if (command.kind != tinybench::CommandKind::kNone) result = command;
  }
  return result;
}

int selftest() {
  using tinybench::CommandKind;
  // Fixed-point formatting.
  CHECK(fixed(0.0, 4) == "0.0000");
  CHECK(fixed(1.5, 4) == "1.5000");
  CHECK(fixed(-0.98765, 4) == "-0.9877");
  CHECK(fixed(-0.00001, 4) == "-0.0000");
  CHECK(fixed(123456.78901, 4) == "123456.7890");
  CHECK(fixed(0.99996, 4) == "1.0000");
  CHECK(fixed(7.0, 0) == "7");
  CHECK(fixed(1e20, 4) == "1.0000e20");
  CHECK(fixed(HUGE_VAL, 4) == "inf" && fixed(-HUGE_VAL, 4) == "-inf");
  CHECK(fixed(std::nan(""), 4) == "nan");
  CHECK(number(119.0) == "119");
  CHECK(number(99.84) == "99.84");
  CHECK(number(0.5) == "0.5");

  // The line writer never writes past its buffer and reports the overflow.
  char small[12];
  std::memset(small, 'Z', sizeof(small));
  const float values[3] = {1.0f, 2.0f, 3.0f};
  CHECK(tinybench::format_sample(small, 10, 1, 2, values, 3) == 0);
  CHECK(small[0] == '\0' && small[10] == 'Z' && small[11] == 'Z');
  char exact[16];
  // "o,7,ab" is 6 bytes; with "*HH\n" and NUL it needs 11.
  const uint8_t byte = 0xAB;
  CHECK(tinybench::format_output(exact, 11, 7, &byte, 1) == 10);
  CHECK(std::strcmp(exact, "o,7,ab*5B\n") == 0);
  CHECK(tinybench::format_output(exact, 10, 7, &byte, 1) == 0);

  // Tokens cannot break a hello line.
  char hello[128];
  tinybench::LineWriter line(hello, sizeof(hello));
  const char* labels[3] = {"a b", "c,d=e*f", ""};
  tinybench::add_labels(line, labels, 3);
  line.finish();
  CHECK(std::strncmp(hello, " labels=a_b,c_d_e_f,_*", 22) == 0);

  // Command reader basics, including a payload longer than the buffer.
  uint8_t payload[2] = {0, 0};
  tinybench::CommandReader reader(payload, sizeof(payload));
  CHECK(feed_line(reader, "?\n").kind == CommandKind::kHello);
  CHECK(feed_line(reader, "c\r\n").kind == CommandKind::kStream);
  CHECK(!reader.busy());
  CHECK(feed_line(reader, "\n\r\n").kind == CommandKind::kNone);
  feed_line(reader, "v 0");
  CHECK(reader.busy() && reader.receiving_payload());
  tinybench::Command v = feed_line(reader, "1ff\n");
  CHECK(v.kind == CommandKind::kValidate && v.payload_length == 2);
  CHECK(payload[0] == 0x01 && payload[1] == 0xFF);
  v = feed_line(reader, "v 0a0b0c\n");
  CHECK(v.kind == CommandKind::kValidate && v.payload_length == 3);
  CHECK(payload[0] == 0x0A && payload[1] == 0x0B);
  tinybench::Command bad = feed_line(reader, "hello\n");
  CHECK(bad.kind == CommandKind::kError && std::strstr(bad.error, "'hello'") != nullptr);
  // A reader goes on after an error.
  CHECK(feed_line(reader, "x\n").kind == CommandKind::kStop);

  // Pacer: on time, early, late by three periods, and across the 32-bit wrap.
  tinybench::Pacer pacer(1000);
  pacer.start(0xFFFFF000u);
  CHECK(pacer.due(0xFFFFF000u + 999) == 0);
  CHECK(pacer.due(0xFFFFF000u + 1000) == 1);
  CHECK(pacer.due(0xFFFFF000u + 1500) == 0);
  CHECK(pacer.due(0xFFFFF000u + 5100) == 4);  // ticks at 2000, 3000, 4000 and 5000
  CHECK(pacer.due(0xFFFFF000u + 5999) == 0);
  CHECK(pacer.due(0xFFFFF000u + 6000) == 1);
  CHECK(tinybench::period_us(119.0) == 8403);
  CHECK(tinybench::period_us(0.0) == 1000000);

  // Sample window: oldest first once it wraps.
  tinybench::SampleWindow<2, 3> window;
  for (int i = 0; i < 5; ++i) {
    const float sample[2] = {static_cast<float>(i), static_cast<float>(10 * i)};
    window.push(sample);
  }
  CHECK(window.full() && window.size() == 3 && window.pushed() == 5);
  CHECK(window.at(0, 0) == 2.0f && window.at(2, 0) == 4.0f && window.at(1, 1) == 30.0f);
  window.clear();
  CHECK(window.size() == 0 && !window.full());

  // Rounding halves away from zero, clamping, and dequantization.
  CHECK(tinybench::round_half_away(0.5) == 1);
  CHECK(tinybench::round_half_away(0.49999999) == 0);
  CHECK(tinybench::round_half_away(2.5) == 3);
  CHECK(tinybench::round_half_away(-0.5) == -1);
  CHECK(tinybench::round_half_away(-2.5) == -3);
  CHECK(tinybench::round_half_away(-2.4) == -2);
  CHECK(tinybench::round_half_away(1e12) == 1000000000);
  CHECK(tinybench::round_half_away(std::nan("")) == 0);
  CHECK(tinybench::quantize_int8(1000.0f, 0.1f, 0) == 127);
  CHECK(tinybench::quantize_int8(-1000.0f, 0.1f, 0) == -128);
  CHECK(tinybench::dequantize_int8(-128, 0.5f, -128) == 0.0f);

  if (g_failures == 0) std::printf("ok %d checks\n", g_checks);
  return g_failures == 0 ? 0 : 1;
}

const char* kind_name(tinybench::CommandKind kind) {
  switch (kind) {
    case tinybench::CommandKind::kHello:
      return "?";
    case tinybench::CommandKind::kStream:
      return "c";
    case tinybench::CommandKind::kStop:
      return "x";
    case tinybench::CommandKind::kInfer:
      return "i";
    case tinybench::CommandKind::kValidate:
      return "v";
    default:
      return "-";
  }
}

int run_checksum() {
  std::string line;
  while (read_line(line)) {
    const std::string data = unhex(line);
    std::printf("%02X\n", tinybench::checksum(data.data(), data.size()));
  }
  return 0;
}

int run_commands(size_t capacity) {
  std::vector<uint8_t> payload(capacity);
  tinybench::CommandReader reader(payload.data(), payload.size());
  std::string line;
  while (read_line(line)) {
    std::string data = unhex(line);
    data.push_back('\n');
    tinybench::Command result{tinybench::CommandKind::kNone, 0, nullptr};
    for (char c : data) {
      const tinybench::Command command = reader.feed(c);
      if (command.kind != tinybench::CommandKind::kNone) result = command;
    }
    if (result.kind == tinybench::CommandKind::kNone) {
      std::printf("none\n");
    } else if (result.kind == tinybench::CommandKind::kError) {
      std::printf("error %s\n", result.error);
    } else {
      std::printf("ok %s %zu ", kind_name(result.kind), result.payload_length);
      const size_t shown = result.payload_length < capacity ? result.payload_length : capacity;
      for (size_t i = 0; i < shown; ++i) std::printf("%02x", payload[i]);
      std::printf("\n");
    }
  }
  return 0;
}

int run_format() {
  std::string request;
  std::vector<char> out(1 << 16);
  while (read_line(request)) {
    const std::vector<std::string> parts = split(request);
    if (parts.empty()) continue;
    size_t length = 0;
    const std::string& what = parts[0];
    if (what == "sample" || what == "prediction") {
      std::vector<float> values;
      for (size_t i = 3; i < parts.size(); ++i) {
        values.push_back(static_cast<float>(parse_double(parts[i])));
      }
      const uint32_t seq = static_cast<uint32_t>(std::strtoul(parts[1].c_str(), nullptr, 10));
      const uint32_t t = static_cast<uint32_t>(std::strtoul(parts[2].c_str(), nullptr, 10));
      length = what == "sample"
                   ? tinybench::format_sample(out.data(), out.size(), seq, t, values.data(),
                                              values.size())
                   : tinybench::format_prediction(out.data(), out.size(), seq, t,
                                                  values.data(), values.size());
    } else if (what == "output") {
      const std::string data = parts.size() > 2 ? unhex(parts[2]) : std::string();
      length = tinybench::format_output(
          out.data(), out.size(), static_cast<uint32_t>(std::strtoul(parts[1].c_str(), nullptr, 10)),
          reinterpret_cast<const uint8_t*>(data.data()), data.size());
    } else if (what == "error") {
      const std::string message = parts.size() > 1 ? unhex(parts[1]) : std::string();
      length = tinybench::format_error(out.data(), out.size(), message.c_str());
    } else if (what == "hello") {
      // hello <board hex> <rate> <labels hex...>
      const std::string board = unhex(parts[1]);
      std::vector<std::string> labels;
      for (size_t i = 3; i < parts.size(); ++i) labels.push_back(unhex(parts[i]));
      std::vector<const char*> label_ptrs;
      for (const std::string& label : labels) label_ptrs.push_back(label.c_str());
      tinybench::LineWriter line(out.data(), out.size());
      tinybench::start_hello(line, board.c_str(), "imu", parse_double(parts[2]),
                             "ax,ay,az,gx,gy,gz", "g,g,g,dps,dps,dps");
      tinybench::add_labels(line, label_ptrs.data(), label_ptrs.size());
      line.pair("imu", "LSM9DS1").pair("arena_used", 12345u);
      length = line.finish();
    }
    std::fwrite(out.data(), 1, length, stdout);
    if (length == 0) std::printf("overflow\n");
  }
  return 0;
}

int run_quantize() {
  std::string request;
  while (read_line(request)) {
    const std::vector<std::string> p = split(request);
    if (p.size() != 5) continue;
    const float x = static_cast<float>(parse_double(p[0]));
    const float mean = static_cast<float>(parse_double(p[1]));
    const float std_dev = static_cast<float>(parse_double(p[2]));
    const float scale = static_cast<float>(parse_double(p[3]));
    const int32_t zero_point = static_cast<int32_t>(std::strtol(p[4].c_str(), nullptr, 10));
    const float normalized = tinybench::normalize(x, 0, &mean, &std_dev, 1);
    std::printf("%d\n", tinybench::quantize_int8(normalized, scale, zero_point));
  }
  return 0;
}

int run_window() {
  std::string request;
  while (read_line(request)) {
    const std::vector<std::string> p = split(request);
    size_t at = 0;
    const float scale = static_cast<float>(parse_double(p[at++]));
    const int32_t zero_point = static_cast<int32_t>(std::strtol(p[at++].c_str(), nullptr, 10));
    const size_t n_norm = std::strtoul(p[at++].c_str(), nullptr, 10);
    std::vector<float> mean, std_dev;
    for (size_t i = 0; i < n_norm; ++i) mean.push_back(static_cast<float>(parse_double(p[at++])));
    for (size_t i = 0; i < n_norm; ++i) {
      std_dev.push_back(static_cast<float>(parse_double(p[at++])));
    }
    tinybench::SampleWindow<6, 4> window;
    float sample[6];
    for (size_t s = 0; s < 6; ++s) {
      for (size_t f = 0; f < 6; ++f) sample[f] = static_cast<float>(parse_double(p[at++]));
      window.push(sample);
    }
    int8_t q[24];
    tinybench::quantize_window(window, mean.data(), std_dev.data(), n_norm, scale, zero_point, q);
    for (int i = 0; i < 24; ++i) std::printf(i ? " %d" : "%d", q[i]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "selftest";
  if (mode == "selftest") return selftest();
  if (mode == "checksum") return run_checksum();
  if (mode == "commands") return run_commands(argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 64);
  if (mode == "format") return run_format();
  if (mode == "quantize") return run_quantize();
  if (mode == "window") return run_window();
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
