// tinybench firmware for the emulated Cortex-M4 (QEMU mps2-an386): the shared inference loop
// (arduino_sketches/common/tinybench_inference_core.h) over this board's UART and TIMER0.
//
// tinybench.emulate.firmware compiles it with the export folder, arduino_sketches/common/ and
// the TFLM library's src/ on the include path, and what a sketch's tinybench_config.h holds
// as -D flags (TINYBENCH_BOARD, TINYBENCH_RATE_HZ, TINYBENCH_HOP_SAMPLES), so that objects
// do not depend on the build folder.
//
// Besides protocol v1 it reports, before each p or o line, one comment line with the
// instructions the Invoke() took, in total and per op (docs/protocol.md, "Emulated boards"):
//   #profile instructions=7941240 ops=CONV_2D:1204640,DEPTHWISE_CONV_2D:482080,...

#include "tinybench_protocol.h"
#include "tinybench_imu.h"

#include "model_data.h"
#include "model_settings.h"
#include "op_resolver.h"

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "tinybench_inference_core.h"

#include "mps2_board.h"

namespace {

// Records TIMER0 ticks around every op of one Invoke(), in execution order.
class TickProfiler : public tflite::MicroProfilerInterface {
 public:
  static constexpr uint32_t kMaxEvents = 256;

  uint32_t BeginEvent(const char* tag) override {
    if (count_ >= kMaxEvents) return kMaxEvents;
    tags_[count_] = tag;
    starts_[count_] = mps2::ticks();
    ends_[count_] = starts_[count_];
    return count_++;
  }

  void EndEvent(uint32_t handle) override {
    if (handle < count_) ends_[handle] = mps2::ticks();
  }

  void clear() { count_ = 0; }
  uint32_t count() const { return count_; }
  const char* tag(uint32_t i) const { return tags_[i]; }
  uint64_t instructions(uint32_t i) const {
    return (ends_[i] - starts_[i]) * mps2::kInstructionsPerTick;
  }

 private:
  const char* tags_[kMaxEvents] = {};
  uint64_t starts_[kMaxEvents] = {};
  uint64_t ends_[kMaxEvents] = {};
  uint32_t count_ = 0;
};

TickProfiler op_profiler;
uint64_t previous_clock_read = 0;  // ticks at the last two Board::micros() calls:
uint64_t latest_clock_read = 0;    // the core reads the clock just before and after Invoke()
char profile_line[96 + TickProfiler::kMaxEvents * 40];

}  // namespace

struct Mps2Board {
  static void write(const char* data, size_t length) { mps2::uart_write(data, length); }
  static int read() { return mps2::uart_read(); }
  static uint32_t micros() {
    previous_clock_read = latest_clock_read;
    latest_clock_read = mps2::ticks();
    return static_cast<uint32_t>(latest_clock_read / mps2::kTicksPerMicrosecond);
  }
  static bool imu_begin() { return false; }
  static void imu_poll(float latest[tinybench_imu::kFields]) { (void)latest; }
  static const char* imu_name() { return "none"; }
  static void add_hello(tinybench::LineWriter& hello) {
    hello.pair("emulated", "qemu-mps2-an386").pair("cpu", "cortex-m4f");
    hello.pair("clock", "icount").pair("instructions_per_us", static_cast<uint32_t>(1000));
  }
  static tflite::MicroProfilerInterface* profiler() { return &op_profiler; }
  static void invoked(uint32_t latency_us) {
    (void)latency_us;
    const uint64_t total =
        (latest_clock_read - previous_clock_read) * mps2::kInstructionsPerTick;
    tinybench::LineWriter line(profile_line, sizeof(profile_line));
    line.text("#profile instructions=").unsigned_number(total).text(" ops=");
    for (uint32_t i = 0; i < op_profiler.count(); ++i) {
      if (i > 0) line.put(',');
      line.token(op_profiler.tag(i)).put(':').unsigned_number(op_profiler.instructions(i));
    }
    const size_t length = line.finish();
    if (length > 0) mps2::uart_write(profile_line, length);
    op_profiler.clear();
  }
};

static tinybench::InferenceSketch<Mps2Board> sketch;

int main() {
  mps2::board_init();
  sketch.setup();
  op_profiler.clear();  // AllocateTensors() is not part of any Invoke()
  sketch.send_hello();
  for (;;) {
    sketch.loop();
    mps2::wait_for_input();
  }
}
