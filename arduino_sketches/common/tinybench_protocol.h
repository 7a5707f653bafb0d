// tinybench serial protocol v1, device side.
//
// Portable C++ (C++14, no Arduino core, no TensorFlow Lite Micro, no heap, no printf): command
// parsing with streaming `v <hex>` decoding, line formatting with the `*HH` checksum, sample
// pacing, a ring buffer of samples and float -> int8 window quantization (bit-exact with
// tinybench.tflm.quantize). The sketches include it; tests/cpp/test_tinybench_protocol.cpp
// compiles and tests it on the host against the Python side (tinybench/protocol.py). The
// specification is docs/protocol.md.
//
// tinybench.sketch.render_sketch copies this file into every rendered sketch folder.

#ifndef TINYBENCH_PROTOCOL_H_
#define TINYBENCH_PROTOCOL_H_

#include <stddef.h>
#include <stdint.h>

namespace tinybench {

constexpr int kProtocolVersion = 1;

// ---- checksum and hex ----------------------------------------------------------------------

// NMEA-style checksum: the XOR of every byte of `data`.
inline uint8_t checksum(const char* data, size_t length) {
  uint8_t value = 0;
  for (size_t i = 0; i < length; ++i) {
    value = static_cast<uint8_t>(value ^ static_cast<uint8_t>(data[i]));
  }
  return value;
}

// Value of one hex digit (either case), or -1 when `c` is not a hex digit.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline char hex_digit(uint8_t nibble, bool upper) {
  static const char kLower[] = "0123456789abcdef";
  static const char kUpper[] = "0123456789ABCDEF";
  return (upper ? kUpper : kLower)[nibble & 0x0F];
}

// ---- line formatting -----------------------------------------------------------------------

// Builds one line in a caller-owned buffer, then `finish()` appends `*HH\n` and a NUL.
// Nothing is written past `capacity`; a line that does not fit makes `finish()` return 0.
class LineWriter {
 public:
  LineWriter(char* buffer, size_t capacity)
      : buffer_(buffer), capacity_(capacity), length_(0), overflow_(capacity < kTrailer + 1) {
    if (capacity_ > 0) buffer_[0] = '\0';
  }

  LineWriter& put(char c) {
    if (length_ + kTrailer < capacity_) {
      buffer_[length_++] = c;
    } else {
      overflow_ = true;
    }
    return *this;
  }

  LineWriter& text(const char* s) {
    while (s != nullptr && *s != '\0') put(*s++);
    return *this;
  }

  // Writes `s` so that it cannot break a hello value: bytes outside printable ASCII and the
  // separators ' ' ',' '=' '*' become '_'; an empty or null string becomes "_".
  LineWriter& token(const char* s) {
    if (s == nullptr || *s == '\0') return put('_');
    for (; *s != '\0'; ++s) {
      const unsigned char c = static_cast<unsigned char>(*s);
      const bool plain = c > 0x20 && c < 0x7F && c != ',' && c != '=' && c != '*';
      put(plain ? static_cast<char>(c) : '_');
    }
    return *this;
  }

  // Writes `s` for an error line: printable ASCII, anything else becomes '?' (newlines ' ').
  LineWriter& message(const char* s) {
    for (; s != nullptr && *s != '\0'; ++s) {
      const unsigned char c = static_cast<unsigned char>(*s);
      if (c == '\n' || c == '\r' || c == '\t') {
        put(' ');
      } else {
        put(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
      }
    }
    return *this;
  }

  LineWriter& unsigned_number(uint64_t value) {
    // 32-bit division where the value allows: on an 8-bit AVR a 64-bit division costs
    // thousands of cycles, and sequence numbers and times always fit in 32 bits.
    if (value <= 0xFFFFFFFFu) return unsigned_digits(static_cast<uint32_t>(value));
    return unsigned_digits(value);
  }

  // The decimal digits of `value`, in the arithmetic of UInt (uint32_t or uint64_t).
  template <typename UInt>
  LineWriter& unsigned_digits(UInt value) {
    char digits[20];
    size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0) put(digits[--count]);
    return *this;
  }

  // `whole / scale` with `decimals` digits after the point (scale = 10^decimals), in the
  // arithmetic of UInt: 32-bit where the scaled value fits, as on AVR that is much faster.
  template <typename UInt>
  LineWriter& scaled_digits(UInt whole, UInt scale, int decimals) {
    unsigned_digits(whole / scale);
    if (decimals > 0) {
      put('.');
      UInt fraction = whole % scale;
      for (UInt digit = scale / 10; digit > 0; digit /= 10) {
        put(static_cast<char>('0' + fraction / digit));
        fraction %= digit;
      }
    }
    return *this;
  }

  LineWriter& signed_number(int64_t value) {
    if (value < 0) {
      put('-');
      return unsigned_number(static_cast<uint64_t>(-(value + 1)) + 1);
    }
    return unsigned_number(static_cast<uint64_t>(value));
  }

  // Writes `value` with exactly `decimals` digits after the point, rounded to nearest, like
  // printf("%.4f") but without printf (its float support is optional on microcontrollers).
  // NaN and infinities are written as "nan", "inf", "-inf"; huge values use an exponent.
  // Works where double is 32 bits (AVR): infinity is found as inf - inf != 0, not by
  // comparing with DBL_MAX of a 64-bit double, and the digits of anything below 2^32 after
  // scaling are produced with 32-bit integers.
  LineWriter& fixed(double value, int decimals) {
    if (decimals < 0) decimals = 0;
    if (decimals > 9) decimals = 9;
    if (!(value == value)) return text("nan");
    if (value < 0) {
      put('-');
      value = -value;
    }
    if (value - value != 0.0) return text("inf");
    uint64_t scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    const double scaled = value * static_cast<double>(scale) + 0.5;
    if (scaled < 4294967295.0 && scale <= 0xFFFFFFFFu) {
      return scaled_digits(static_cast<uint32_t>(scaled), static_cast<uint32_t>(scale), decimals);
    }
    if (scaled < 1.8e19) return scaled_digits(static_cast<uint64_t>(scaled), scale, decimals);
    int exponent = 0;
    while (value >= 10.0) {
      value /= 10.0;
      ++exponent;
    }
    fixed(value, decimals);
    put('e');
    return signed_number(exponent);
  }

  // Writes `value` with at most `decimals` digits after the point and no trailing zeros
  // ("119", "99.84"), as Python's "{:g}" does for ordinary rates.
  LineWriter& number(double value, int decimals) {
    const size_t start = length_;
    fixed(value, decimals);
    if (overflow_) return *this;
    size_t point = start;
    while (point < length_ && buffer_[point] != '.' && buffer_[point] != 'e') ++point;
    if (point < length_ && buffer_[point] == '.') {
      while (length_ > point + 1 && buffer_[length_ - 1] == '0') --length_;
      if (length_ == point + 1) --length_;
    }
    return *this;
  }

  LineWriter& hex(const uint8_t* data, size_t length) {
    for (size_t i = 0; i < length; ++i) {
      put(hex_digit(static_cast<uint8_t>(data[i] >> 4), false));
      put(hex_digit(data[i], false));
    }
    return *this;
  }

  // ` key=value`, the value written as a token.
  LineWriter& pair(const char* key, const char* value) {
    put(' ');
    text(key);
    put('=');
    return token(value);
  }

  LineWriter& pair(const char* key, uint32_t value) {
    put(' ');
    text(key);
    put('=');
    return unsigned_number(value);
  }

  // Appends `*HH\n` and a NUL. Returns the line's length (newline included, NUL excluded), or
  // 0 when it did not fit; then the buffer holds an empty string.
  size_t finish() {
    if (overflow_) {
      if (capacity_ > 0) buffer_[0] = '\0';
      return 0;
    }
    const uint8_t sum = checksum(buffer_, length_);
    buffer_[length_++] = '*';
    buffer_[length_++] = hex_digit(static_cast<uint8_t>(sum >> 4), true);
    buffer_[length_++] = hex_digit(sum, true);
    buffer_[length_++] = '\n';
    buffer_[length_] = '\0';
    return length_;
  }

  size_t length() const { return length_; }
  bool overflowed() const { return overflow_; }

 private:
  enum : size_t { kTrailer = 5 };  // "*HH\n" and the NUL

  char* buffer_;
  size_t capacity_;
  size_t length_;
  bool overflow_;
};

// Bytes a line buffer needs for a sample or prediction line with `count` values of magnitude
// below 1e9 (`s,<seq>,<t_us>,` + values + checksum).
constexpr size_t values_line_capacity(size_t count) { return 48 + count * 17; }

// Bytes a line buffer needs for an `o` line of `bytes` bytes.
constexpr size_t output_line_capacity(size_t bytes) { return 24 + bytes * 2; }

// `#tinybench v=1 board=… sensor=… rate_hz=… fields=… units=…`; the caller may add more
// `pair()`s and `labels()` before `finish()`.
inline LineWriter& start_hello(LineWriter& line, const char* board, const char* sensor,
                               double rate_hz, const char* fields, const char* units) {
  line.text("#tinybench v=").unsigned_number(static_cast<uint32_t>(kProtocolVersion));
  line.pair("board", board).pair("sensor", sensor);
  line.text(" rate_hz=").number(rate_hz, 4);
  if (fields != nullptr && *fields != '\0') line.text(" fields=").text(fields);
  if (units != nullptr && *units != '\0') line.text(" units=").text(units);
  return line;
}

// ` labels=a,b,c`, each label written as a token; nothing when `count` is 0.
inline LineWriter& add_labels(LineWriter& line, const char* const* labels, size_t count) {
  if (count == 0) return line;
  line.text(" labels=");
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) line.put(',');
    line.token(labels[i]);
  }
  return line;
}

// `s,<seq>,<t_us>,<v1>,…` with values to 4 decimals. Returns the length, 0 if it did not fit.
inline size_t format_sample(char* out, size_t capacity, uint32_t seq, uint32_t t_us,
                            const float* values, size_t count) {
  LineWriter line(out, capacity);
  line.text("s,").unsigned_number(seq).put(',').unsigned_number(t_us);
  for (size_t i = 0; i < count; ++i) line.put(',').fixed(values[i], 4);
  return line.finish();
}

// `p,<seq>,<latency_us>,<score_0>,…` with scores to 4 decimals.
inline size_t format_prediction(char* out, size_t capacity, uint32_t seq, uint32_t latency_us,
                                const float* scores, size_t count) {
  LineWriter line(out, capacity);
  line.text("p,").unsigned_number(seq).put(',').unsigned_number(latency_us);
  for (size_t i = 0; i < count; ++i) line.put(',').fixed(scores[i], 4);
  return line.finish();
}

// `o,<seq>,<hex>` with the raw bytes as lower-case hex.
inline size_t format_output(char* out, size_t capacity, uint32_t seq, const uint8_t* data,
                            size_t length) {
  LineWriter line(out, capacity);
  line.text("o,").unsigned_number(seq).put(',').hex(data, length);
  return line.finish();
}

// `!<message>`, then `detail` (if any) appended to the message.
inline size_t format_error(char* out, size_t capacity, const char* message,
                           const char* detail = nullptr) {
  LineWriter line(out, capacity);
  line.put('!').message(message).message(detail);
  return line.finish();
}

// ---- commands ------------------------------------------------------------------------------

enum class CommandKind : uint8_t {
  kNone,      // no complete command yet (or an empty line)
  kHello,     // ?
  kStream,    // c
  kStop,      // x
  kInfer,     // i
  kValidate,  // v <hex>
  kPlan,      // m: boards with the real TFLM report the arena's memory plan
  kError,     // malformed or unknown; `error` says why
};

struct Command {
  CommandKind kind;
  size_t payload_length;  // kValidate: bytes decoded, even past the buffer's capacity
  const char* error;      // kError: a message for an `!` line
};

// Reads host commands one byte at a time, as they arrive, and never buffers a whole line:
// the hex of `v <hex>` is decoded straight into a caller-owned buffer (the model's input
// tensor), so even a 55 KB command needs no line buffer. It accepts exactly the lines that
// tinybench.protocol.parse_command accepts, except `g`, which only the virtual board knows,
// and `m` (memory plan), an extension of boards that run the real TFLM (docs/protocol.md):
// blanks around the line, blanks between hex bytes, an optional `*HH` checksum. Lines end at
// '\n' or '\r'; empty lines are ignored.
class CommandReader {
 public:
  CommandReader() : CommandReader(nullptr, 0) {}
  CommandReader(uint8_t* payload, size_t capacity) : payload_(payload), capacity_(capacity) {
    reset();
  }

  void set_payload_buffer(uint8_t* payload, size_t capacity) {
    payload_ = payload;
    capacity_ = capacity;
  }

  // True while a line has started and not yet ended.
  bool busy() const { return state_ != State::kStart; }

  // True while the hex of a `v` command is arriving: the payload buffer is being written.
  bool receiving_payload() const {
    return state_ == State::kHex || (state_ == State::kChecksum && before_star_ == State::kHex);
  }

  // Feeds one byte. Returns a command of kind kNone until a line ends.
  Command feed(char c) {
    if (c == '\n' || c == '\r') return end_line();
    const bool blank = c == ' ' || c == '\t' || c == '\v' || c == '\f';
    if (state_ == State::kStart) {
      if (blank) return none();
      state_ = State::kWord;
    }
    if (state_ == State::kChecksum) {
      checksum_char(c, blank);
      return none();
    }
    if (c == '*') {
      before_star_ = state_;
      state_ = State::kChecksum;
      return none();
    }
    sum_ = static_cast<uint8_t>(sum_ ^ static_cast<uint8_t>(c));
    if (state_ == State::kWord) {
      word_char(c, blank);
    } else if (state_ == State::kArgs) {
      if (!blank) argument_ = true;
    } else if (state_ == State::kHex) {
      hex_char(c, blank);
    }
    return none();
  }

 private:
  enum class State : uint8_t { kStart, kWord, kArgs, kHex, kChecksum };
  enum : size_t { kWordCapacity = 12, kMessageCapacity = 96 };

  static Command none() { return Command{CommandKind::kNone, 0, nullptr}; }

  void reset() {
    state_ = State::kStart;
    before_star_ = State::kStart;
    word_[0] = '\0';
    word_length_ = 0;
    word_invalid_ = false;
    word_blank_ = false;
    blank_in_kind_ = false;
    argument_ = false;
    bad_hex_ = false;
    pending_ = -1;
    count_ = 0;
    sum_ = 0;
    star_digits_ = 0;
    star_value_ = 0;
    star_blank_ = false;
    star_bad_ = false;
  }

  // The command word ends at the first space. A tab or other blank before that space belongs
  // to the word (as in Python's str.partition(" ")), unless only blanks follow to the end.
  void word_char(char c, bool blank) {
    if (c == ' ') {
      blank_in_kind_ = word_blank_;
      state_ = word_is("v") ? State::kHex : State::kArgs;
    } else if (blank) {
      word_blank_ = true;
    } else if (word_blank_ || word_length_ >= kWordCapacity) {
      word_invalid_ = true;
    } else {
      word_[word_length_++] = c;
      word_[word_length_] = '\0';
    }
  }

  void hex_char(char c, bool blank) {
    if (blank) {
      if (pending_ >= 0) bad_hex_ = true;
      return;
    }
    const int value = hex_value(c);
    if (value < 0) {
      bad_hex_ = true;
    } else if (pending_ < 0) {
      pending_ = value;
    } else {
      if (count_ < capacity_ && payload_ != nullptr) {
        payload_[count_] = static_cast<uint8_t>((pending_ << 4) | value);
      }
      ++count_;
      pending_ = -1;
    }
  }

  // After '*': two hex digits and then only blanks make a checksum; anything else means the
  // '*' was part of the command, which makes the command malformed.
  void checksum_char(char c, bool blank) {
    if (blank) {
      if (star_digits_ > 0) star_blank_ = true;
      return;
    }
    const int value = hex_value(c);
    if (star_blank_ || star_digits_ >= 2 || value < 0) {
      star_bad_ = true;
    } else {
      star_value_ = static_cast<uint8_t>((star_value_ << 4) | value);
    }
    ++star_digits_;
  }

  bool word_is(const char* name) const {
    if (word_invalid_) return false;
    size_t i = 0;
    while (name[i] != '\0' && i < word_length_ && word_[i] == name[i]) ++i;
    return name[i] == '\0' && i == word_length_;
  }

  Command fail(const char* message, const char* quoted = nullptr) {
    LineWriter line(message_, sizeof(message_));
    line.message(message);
    if (quoted != nullptr) line.text(" '").message(quoted).put('\'');
    message_[line.length()] = '\0';
    return Command{CommandKind::kError, 0, message_};
  }

  Command end_line() {
    if (state_ == State::kStart) return none();
    const bool checksummed = state_ == State::kChecksum;
    Command result = none();
    if (checksummed && (star_bad_ || star_digits_ != 2)) {
      result = fail("malformed command: '*' may only start a *HH checksum at the end");
    } else if (checksummed && star_value_ != sum_) {
      result = fail("bad checksum on command: HH must be the XOR of the bytes before '*'");
    } else {
      result = evaluate(checksummed ? before_star_ : state_, checksummed);
    }
    reset();
    return result;
  }

  Command evaluate(State state, bool checksummed) {
    // Without a checksum, blanks at the end of the line are stripped; with one they are not.
    const bool after_space = state == State::kArgs || state == State::kHex;
    const bool anything_after = state == State::kArgs ? argument_
                                : state == State::kHex ? (count_ > 0 || pending_ >= 0 || bad_hex_)
                                                       : false;
    const bool blank_in_word = after_space ? blank_in_kind_ : word_blank_;
    if (blank_in_word && (checksummed || anything_after)) word_invalid_ = true;
    if (word_length_ == 0 && !word_invalid_) {
      return fail("empty command; known commands: ? c x i v");
    }
    if (word_is("v")) {
      if (!anything_after) return fail("command 'v' needs the input tensor as hex: v <hex>");
      if (bad_hex_ || pending_ >= 0) {
        return fail("command 'v' payload is not hex (two digits per byte)");
      }
      return Command{CommandKind::kValidate, count_, nullptr};
    }
    CommandKind kind = CommandKind::kError;
    if (word_is("?")) kind = CommandKind::kHello;
    if (word_is("c")) kind = CommandKind::kStream;
    if (word_is("x")) kind = CommandKind::kStop;
    if (word_is("i")) kind = CommandKind::kInfer;
    if (word_is("m")) kind = CommandKind::kPlan;
    if (word_is("g")) return fail("command 'g' works only on the virtual board");
    if (kind == CommandKind::kError) {
      return fail("unknown command; known commands: ? c x i v; got", word_);
    }
    if (anything_after) return fail("this command takes no argument:", word_);
    return Command{kind, 0, nullptr};
  }

  uint8_t* payload_;
  size_t capacity_;
  State state_;
  State before_star_;
  char word_[kWordCapacity + 1];
  size_t word_length_;
  bool word_invalid_;
  bool word_blank_;
  bool blank_in_kind_;
  bool argument_;
  bool bad_hex_;
  int pending_;
  size_t count_;
  uint8_t sum_;
  int star_digits_;
  uint8_t star_value_;
  bool star_blank_;
  bool star_bad_;
  char message_[kMessageCapacity];
};

// ---- sampling ------------------------------------------------------------------------------

// Paces samples at a fixed period on a wrapping 32-bit microsecond clock.
class Pacer {
 public:
  explicit Pacer(uint32_t period_us) : period_(period_us == 0 ? 1 : period_us), next_(0) {}

  void start(uint32_t now_us) { next_ = now_us + period_; }

  // How many periods have ended since the last tick: 0 when the next one is not due yet,
  // 1 on time, more when the caller was late and ticks were missed (samples lost).
  uint32_t due(uint32_t now_us) {
    const int32_t late = static_cast<int32_t>(now_us - next_);
    if (late < 0) return 0;
    const uint32_t ticks = 1 + static_cast<uint32_t>(late) / period_;
    next_ += ticks * period_;
    return ticks;
  }

  uint32_t period_us() const { return period_; }

 private:
  uint32_t period_;
  uint32_t next_;
};

// Period in microseconds of a sample rate in hertz, rounded to nearest.
inline uint32_t period_us(double rate_hz) {
  if (!(rate_hz > 0.0)) return 1000000;
  return static_cast<uint32_t>(1000000.0 / rate_hz + 0.5);
}

// The latest `Length` samples of `Fields` values each, oldest first.
template <size_t Fields, size_t Length>
class SampleWindow {
 public:
  static_assert(Fields > 0 && Length > 0, "a window holds at least one value");

  void clear() {
    head_ = 0;
    count_ = 0;
    pushed_ = 0;
  }

  void push(const float* values) {
    for (size_t f = 0; f < Fields; ++f) data_[head_][f] = values[f];
    head_ = (head_ + 1) % Length;
    if (count_ < Length) ++count_;
    ++pushed_;
  }

  size_t size() const { return count_; }
  bool full() const { return count_ == Length; }
  static constexpr size_t fields() { return Fields; }
  static constexpr size_t length() { return Length; }

  // Samples pushed since `clear()`, for scheduling an inference every few samples.
  uint32_t pushed() const { return pushed_; }

  // Value `field` of sample `index`, 0 being the oldest sample held.
  float at(size_t index, size_t field) const {
    const size_t oldest = (head_ + Length - count_) % Length;
    return data_[(oldest + index) % Length][field];
  }

 private:
  float data_[Length][Fields] = {};
  size_t head_ = 0;
  size_t count_ = 0;
  uint32_t pushed_ = 0;
};

// ---- quantization --------------------------------------------------------------------------

// Rounds to the nearest integer, halves away from zero, as TFLM's QUANTIZE kernel and
// tinybench.tflm.quantize do; clamps to +-1e9 first (NaN gives 0).
inline int32_t round_half_away(double value) {
  if (!(value == value)) return 0;
  if (value > 1.0e9) return 1000000000;
  if (value < -1.0e9) return -1000000000;
  return value >= 0.0 ? static_cast<int32_t>(value + 0.5) : -static_cast<int32_t>(0.5 - value);
}

// (value - mean[field]) / std[field] in float32, as tinybench.dataset.Normalization.apply
// computes it; the normalization's values repeat every `count` fields, 0 means none.
inline float normalize(float value, size_t field, const float* mean, const float* std,
                       size_t count) {
  if (count == 0 || mean == nullptr || std == nullptr) return value;
  const size_t i = field % count;
  const float centered = value - mean[i];
  return std[i] != 0.0f ? centered / std[i] : centered;
}

// round(value / scale) + zero_point, saturated to int8: the division in float32 as in TFLM's
// kernel, then exact rounding of that quotient, bit-exact with tinybench.tflm.quantize.
inline int8_t quantize_int8(float value, float scale, int32_t zero_point) {
  const float scaled = scale != 0.0f ? value / scale : value;
  int32_t q = round_half_away(static_cast<double>(scaled)) + zero_point;
  if (q < -128) q = -128;
  if (q > 127) q = 127;
  return static_cast<int8_t>(q);
}

inline float dequantize_int8(int8_t value, float scale, int32_t zero_point) {
  return static_cast<float>(static_cast<int32_t>(value) - zero_point) * scale;
}

// Writes the window, oldest sample first and fields within a sample, normalized and
// quantized: the layout of a (1, Length, Fields) int8 input tensor.
template <size_t Fields, size_t Length>
void quantize_window(const SampleWindow<Fields, Length>& window, const float* mean,
                     const float* std, size_t norm_count, float scale, int32_t zero_point,
                     int8_t* out) {
  for (size_t s = 0; s < window.size(); ++s) {
    for (size_t f = 0; f < Fields; ++f) {
      *out++ = quantize_int8(normalize(window.at(s, f), f, mean, std, norm_count), scale,
                             zero_point);
    }
  }
}

// The same for a float32 input tensor.
template <size_t Fields, size_t Length>
void normalize_window(const SampleWindow<Fields, Length>& window, const float* mean,
                      const float* std, size_t norm_count, float* out) {
  for (size_t s = 0; s < window.size(); ++s) {
    for (size_t f = 0; f < Fields; ++f) {
      *out++ = normalize(window.at(s, f), f, mean, std, norm_count);
    }
  }
}

}  // namespace tinybench

#endif  // TINYBENCH_PROTOCOL_H_
