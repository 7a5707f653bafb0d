// tinybench_capture: streams the board's IMU (or an Uno's analog ADXL335 accelerometer on
// A0-A2) in tinybench serial protocol v1.
//
// Render it for your board instead of opening this folder directly:
//   tinybench.render_sketch("nano33ble", None, sketch="tinybench_capture")
// The rendered folder adds tinybench_config.h (board name, IMU part, sample rate) and the
// shared headers from arduino_sketches/common/.
//
// Commands (one per line): ? hello, c stream samples, x stop. Every line sent ends in *HH.
// Samples: s,<seq>,<t_us>,ax,ay,az,gx,gy,gz (g and degrees per second), at TINYBENCH_RATE_HZ;
// with the ADXL335, s,<seq>,<t_us>,ax,ay,az (g). t_us is micros() just before the reading.
// A sample period the loop missed is skipped in seq, so the host counts it as lost.

#include "tinybench_config.h"
#include "tinybench_protocol.h"
#include "tinybench_imu.h"

// Functions are static, defined before use and without default arguments, so the prototypes
// the Arduino IDE generates are harmless.
// 256 bytes hold the longest error line; an Uno (2 KB of RAM) gets 160, enough for its hello.
#ifdef __AVR__
static constexpr size_t kLineCapacity = 160;
#else
static constexpr size_t kLineCapacity = 256;
#endif

static tinybench::CommandReader commands;
static tinybench::Pacer pacer(tinybench::period_us(TINYBENCH_RATE_HZ));
static char line[kLineCapacity];
static float latest[tinybench_imu::kFields] = {};
static bool imu_ok = false;
static bool streaming = false;
static uint32_t sample_seq = 0;

static void send_line(size_t length) {
  if (length > 0) Serial.write(line, length);
}

static void send_error(const char* message) {
  send_line(tinybench::format_error(line, sizeof(line), message));
}

static void send_hello() {
  tinybench::LineWriter hello(line, sizeof(line));
  tinybench::start_hello(hello, TINYBENCH_BOARD, imu_ok ? tinybench_imu::kSensor : "none",
                         TINYBENCH_RATE_HZ, tinybench_imu::kFieldNames, tinybench_imu::kUnits);
#ifdef TINYBENCH_IMU_ANALOG
  hello.pair("adc_ref_mv", static_cast<uint32_t>(tinybench_imu::kAdcReferenceMv));
#else
  hello.pair("imu", imu_ok ? TINYBENCH_IMU_NAME : "none");
  if (imu_ok && tinybench_imu::kReportsOutputRate) {
    hello.text(" imu_rate_hz=").number(tinybench_imu::output_rate_hz(), 2);
  }
#endif
  hello.pair("sketch", "capture");
  send_line(hello.finish());
}

static void handle(const tinybench::Command& command) {
  switch (command.kind) {
    case tinybench::CommandKind::kHello:
      send_hello();
      break;
    case tinybench::CommandKind::kStream:
      if (!imu_ok) {
#ifdef TINYBENCH_IMU_ANALOG
        // Not reached: an analog part cannot fail to start. Kept short, as string constants
        // take RAM on an AVR.
        send_error("the " TINYBENCH_IMU_NAME " did not start");
#else
        send_error("the " TINYBENCH_IMU_NAME " IMU did not start, so there is nothing to "
                   "stream; if this is a Nano 33 BLE Sense Rev2, render the sketch for board "
                   "nano33ble_rev2 (rev1 is nano33ble)");
#endif
      } else if (!streaming) {
        streaming = true;
        pacer.start(static_cast<uint32_t>(micros()));
      }
      break;
    case tinybench::CommandKind::kStop:
      streaming = false;
      break;
    case tinybench::CommandKind::kInfer:
    case tinybench::CommandKind::kValidate:
      send_error("this is the capture sketch: i and v need the tinybench_inference sketch");
      break;
    case tinybench::CommandKind::kError:
      send_error(command.error);
      break;
    default:
      break;
  }
}

void setup() {
  Serial.begin(115200);
  imu_ok = tinybench_imu::begin();
  // The host never relies on this boot hello (opening a port flushes it); it asks with '?'.
  if (Serial) send_hello();
}

void loop() {
  // A bounded number of command bytes per pass keeps the sample clock on time.
  for (int i = 0; i < 64 && Serial.available() > 0; ++i) {
    const tinybench::Command command = commands.feed(static_cast<char>(Serial.read()));
    if (command.kind != tinybench::CommandKind::kNone) handle(command);
  }
  if (!imu_ok) return;
  tinybench_imu::poll(latest);
  if (!streaming) return;
  const uint32_t now = static_cast<uint32_t>(micros());
  const uint32_t ticks = pacer.due(now);
  if (ticks == 0) return;
  sample_seq += ticks - 1;  // missed periods: lost samples, visible to the host as a gap
  tinybench_imu::sample(latest);
  send_line(tinybench::format_sample(line, sizeof(line), sample_seq++, now, latest,
                                tinybench_imu::kFields));
}
