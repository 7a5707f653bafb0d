// tinybench_inference: runs an exported model on the board with TensorFlow Lite Micro (the
// Library Manager library Chirale_TensorFLowLite) and speaks tinybench serial protocol v1.
//
// Render it for your board and model instead of opening this folder directly:
//   exported = tinybench.export_model(variant, "build/export/gesture")
//   tinybench.render_sketch("nano33ble", exported)
// The rendered folder adds tinybench_config.h (board, IMU, rates), the shared headers from
// arduino_sketches/common/ and the exported model_data.h/.cpp, model_settings.h and
// op_resolver.h.
//
// Commands (one per line):
//   ?        hello: board, labels, model name, arena size and the arena TFLM really used
//   c / x    stream IMU samples / stop streaming and inference
//   i        run the model on the latest window of live IMU data every TINYBENCH_HOP_SAMPLES
//            samples; answer p,<seq>,<latency_us>,<score_0>,... until x
//   v <hex>  run the model once on this raw input tensor; answer o,<seq>,<hex of the output>
// Errors (bad command, wrong payload length, model that did not load) are '!' lines. Every
// line sent ends in *HH.
//
// The inference loop itself is tinybench_inference_core.h, shared with the emulated Cortex-M4
// firmware (tinybench.emulate); this file only connects it to the Arduino core: Serial,
// micros() and the IMU library.

#include "tinybench_config.h"
#include "tinybench_protocol.h"
#include "tinybench_imu.h"

#include "model_data.h"
#include "model_settings.h"
#include "op_resolver.h"

// The Library Manager lists it as Chirale_TensorFLowLite; its header is spelled like this.
#include <Chirale_TensorFlowLite.h>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"

#include "tinybench_inference_core.h"

// The board as tinybench_inference_core.h sees it. Members of a struct, so the prototypes the
// Arduino IDE generates for free functions do not get in the way.
struct ArduinoBoard {
  static void write(const char* data, size_t length) { Serial.write(data, length); }
  static int read() { return Serial.available() > 0 ? Serial.read() : -1; }
  static uint32_t micros() { return static_cast<uint32_t>(::micros()); }
  static bool imu_begin() { return tinybench_imu::begin(); }
  static void imu_poll(float latest[tinybench_imu::kFields]) { tinybench_imu::poll(latest); }
  static const char* imu_name() { return TINYBENCH_IMU_NAME; }
  static void add_hello(tinybench::LineWriter& hello) { (void)hello; }
  static tflite::MicroProfilerInterface* profiler() { return nullptr; }
  static void invoked(uint32_t latency_us) { (void)latency_us; }
};

static tinybench::InferenceSketch<ArduinoBoard> sketch;

void setup() {
  Serial.begin(115200);
  sketch.setup();
  // The host never relies on this boot hello (opening a port flushes it); it asks with '?'.
  if (Serial) sketch.send_hello();
}

void loop() { sketch.loop(); }
