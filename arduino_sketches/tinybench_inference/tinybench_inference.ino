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

// Functions are static, defined before use and without default arguments, so the prototypes
// the Arduino IDE generates are harmless.

static constexpr size_t larger(size_t a, size_t b) { return a > b ? a : b; }

// Live inference needs a model that takes one window of IMU samples.
static constexpr size_t kImuFields = tinybench_imu::kFields;
static constexpr bool kLiveInput =
    kWindowSamples > 0 &&
    static_cast<size_t>(kWindowSamples) * kImuFields == static_cast<size_t>(kInputElements) &&
    (kInputIsInt8 || kInputIsFloat32);
static constexpr size_t kWindowLength = kWindowSamples > 0 ? kWindowSamples : 1;

// One buffer for every line sent: hello, sample, prediction, raw output or error.
static constexpr size_t kLineCapacity =
    larger(larger(320 + static_cast<size_t>(kLabelTextBytes) + sizeof(kModelName),
                  tinybench::values_line_capacity(larger(kOutputElements, kImuFields))),
           tinybench::output_line_capacity(kOutputBytes));

alignas(16) static uint8_t tensor_arena[kTensorArenaSize];

static tflite::MicroInterpreter* interpreter = nullptr;
static TfLiteTensor* input = nullptr;
static TfLiteTensor* output = nullptr;
static const char* model_error = nullptr;

static tinybench::CommandReader commands;
static tinybench::SampleWindow<kImuFields, kWindowLength> window;
static tinybench::Pacer pacer(tinybench::period_us(TINYBENCH_RATE_HZ));
static char line[kLineCapacity];
static float latest[kImuFields] = {};
static bool imu_ok = false;
static bool streaming = false;
static bool inferring = false;
static uint32_t sample_seq = 0;
static uint32_t prediction_seq = 0;
static uint32_t output_seq = 0;
static uint32_t samples_since_inference = 0;

static void send_line(size_t length) {
  if (length > 0) Serial.write(line, length);
}

static void send_error(const char* message, const char* detail) {
  send_line(tinybench::format_error(line, sizeof(line), message, detail));
}

static void load_model() {
  const tflite::Model* model = tflite::GetModel(TINYBENCH_MODEL_DATA);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    model_error = "the model's schema version does not match the TFLM library's; export it "
                  "with the converter of the pinned TensorFlow";
    return;
  }
  static ModelOpResolver resolver;
  if (RegisterModelOps(resolver) != kTfLiteOk) {
    model_error = "registering the model's ops failed; export the model again";
    return;
  }
  static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena,
                                                     kTensorArenaSize);
  if (static_interpreter.AllocateTensors() != kTfLiteOk) {
    model_error = "AllocateTensors() failed: the tensor arena (kTensorArenaSize) is too "
                  "small for this board's kernels; export again with a larger arena_margin";
    return;
  }
  interpreter = &static_interpreter;
  input = interpreter->input(0);
  output = interpreter->output(0);
  if (input == nullptr || output == nullptr ||
      input->bytes != static_cast<size_t>(kInputBytes) ||
      output->bytes != static_cast<size_t>(kOutputBytes)) {
    model_error = "the model's tensors do not match model_settings.h; export the model and "
                  "render the sketch again";
    interpreter = nullptr;
    return;
  }
  commands.set_payload_buffer(input->data.uint8, input->bytes);
}

static void send_hello() {
  tinybench::LineWriter hello(line, sizeof(line));
  tinybench::start_hello(hello, TINYBENCH_BOARD, imu_ok ? "imu" : "none", TINYBENCH_RATE_HZ,
                         tinybench_imu::kFieldNames, tinybench_imu::kUnits);
  tinybench::add_labels(hello, kLabels, kLabelCount);
  hello.pair("imu", imu_ok ? TINYBENCH_IMU_NAME : "none");
  hello.pair("sketch", "inference").pair("model", kModelName);
  hello.pair("window", static_cast<uint32_t>(kWindowSamples));
  hello.pair("input_bytes", static_cast<uint32_t>(kInputBytes));
  hello.pair("arena", static_cast<uint32_t>(kTensorArenaSize));
  if (interpreter != nullptr) {
    hello.pair("arena_used", static_cast<uint32_t>(interpreter->arena_used_bytes()));
  }
  hello.pair("model_ok", interpreter != nullptr ? "1" : "0");
  send_line(hello.finish());
  if (model_error != nullptr) send_error(model_error, nullptr);
}

static float output_value(size_t index) {
  switch (output->type) {
    case kTfLiteInt8:
      return tinybench::dequantize_int8(output->data.int8[index], output->params.scale,
                                        output->params.zero_point);
    case kTfLiteUInt8:
      return (static_cast<int32_t>(output->data.uint8[index]) - output->params.zero_point) *
             output->params.scale;
    case kTfLiteInt16:
      return (static_cast<int32_t>(output->data.i16[index]) - output->params.zero_point) *
             output->params.scale;
    case kTfLiteFloat32:
      return output->data.f[index];
    default:
      return 0.0f;
  }
}

// Runs the model on the latest window and sends a p line.
static void infer_live() {
  if (kInputIsInt8) {
    tinybench::quantize_window(window, kNormalizationMean, kNormalizationStd,
                               kNormalizationCount, input->params.scale,
                               input->params.zero_point, input->data.int8);
  } else {
    tinybench::normalize_window(window, kNormalizationMean, kNormalizationStd,
                                kNormalizationCount, input->data.f);
  }
  const uint32_t start = static_cast<uint32_t>(micros());
  const TfLiteStatus status = interpreter->Invoke();
  const uint32_t latency = static_cast<uint32_t>(micros()) - start;
  if (status != kTfLiteOk) {
    send_error("Invoke() failed on the live window", nullptr);
    return;
  }
  tinybench::LineWriter prediction(line, sizeof(line));
  prediction.text("p,").unsigned_number(prediction_seq++).put(',').unsigned_number(latency);
  for (size_t i = 0; i < static_cast<size_t>(kOutputElements); ++i) {
    prediction.put(',').fixed(output_value(i), 4);
  }
  send_line(prediction.finish());
}

// Answers v <hex>: the payload is already in the input tensor.
static void validate(size_t payload_length) {
  if (interpreter == nullptr) {
    send_error("no model is loaded: ", model_error);
    return;
  }
  if (payload_length != input->bytes) {
    tinybench::LineWriter error(line, sizeof(line));
    error.text("!v needs ").unsigned_number(input->bytes).text(" bytes of input (");
    error.unsigned_number(2 * input->bytes).text(" hex digits), got ");
    error.unsigned_number(payload_length);
    send_line(error.finish());
    return;
  }
  if (interpreter->Invoke() != kTfLiteOk) {
    send_error("Invoke() failed on the v input", nullptr);
    return;
  }
  send_line(tinybench::format_output(line, sizeof(line), output_seq++, output->data.uint8,
                                     output->bytes));
}

static void start_sampling() {
  if (!streaming && !inferring) pacer.start(static_cast<uint32_t>(micros()));
}

static void start_inference() {
  if (interpreter == nullptr) {
    send_error("no model is loaded: ", model_error);
  } else if (!kLiveInput) {
    send_error("live inference needs a model input of one window of 6 IMU values per "
               "sample (kWindowSamples x 6); this model's input does not match, so use v <hex>",
               nullptr);
  } else if (!imu_ok) {
    send_error("the " TINYBENCH_IMU_NAME " IMU did not start, so there is no live data; "
               "use v <hex>",
               nullptr);
  } else if (!inferring) {
    start_sampling();
    inferring = true;
    window.clear();
    samples_since_inference = 0;
  }
}

static void handle(const tinybench::Command& command) {
  switch (command.kind) {
    case tinybench::CommandKind::kHello:
      send_hello();
      break;
    case tinybench::CommandKind::kStream:
      if (!imu_ok) {
        send_error("the " TINYBENCH_IMU_NAME " IMU did not start, so there is nothing to "
                   "stream; if this is a Nano 33 BLE Sense Rev2, render the sketch for board "
                   "nano33ble_rev2 (rev1 is nano33ble)",
                   nullptr);
      } else {
        start_sampling();
        streaming = true;
      }
      break;
    case tinybench::CommandKind::kStop:
      streaming = false;
      inferring = false;
      break;
    case tinybench::CommandKind::kInfer:
      start_inference();
      break;
    case tinybench::CommandKind::kValidate:
      validate(command.payload_length);
      break;
    case tinybench::CommandKind::kError:
      send_error(command.error, nullptr);
      break;
    default:
      break;
  }
}

void setup() {
  Serial.begin(115200);
  imu_ok = tinybench_imu::begin();
  load_model();
  // The host never relies on this boot hello (opening a port flushes it); it asks with '?'.
  if (Serial) send_hello();
}

void loop() {
  // A bounded number of command bytes per pass keeps the sample clock on time.
  for (int i = 0; i < 256 && Serial.available() > 0; ++i) {
    const tinybench::Command command = commands.feed(static_cast<char>(Serial.read()));
    if (command.kind != tinybench::CommandKind::kNone) handle(command);
  }
  if (!imu_ok) return;
  tinybench_imu::poll(latest);
  if (!streaming && !inferring) return;
  const uint32_t now = static_cast<uint32_t>(micros());
  const uint32_t ticks = pacer.due(now);
  if (ticks == 0) return;
  if (streaming) {
    sample_seq += ticks - 1;  // missed periods: lost samples, visible to the host as a gap
    send_line(tinybench::format_sample(line, sizeof(line), sample_seq++, now, latest,
                                       kImuFields));
  }
  if (!inferring) return;
  // Missed periods repeat the latest reading, so the window keeps its length in time.
  for (uint32_t i = 0; i < ticks && i < kWindowLength; ++i) window.push(latest);
  samples_since_inference += ticks;
  // While the hex of a v command arrives, the input tensor is not ours to overwrite.
  if (window.full() && samples_since_inference >= TINYBENCH_HOP_SAMPLES &&
      !commands.receiving_payload()) {
    samples_since_inference = 0;
    infer_live();
  }
}
