// Test stand-in for TensorFlow Lite Micro's C types: only what tinybench's generated files and
// sketches use, with the real names and layouts' field names, so they compile on the host.
#ifndef TINYBENCH_FAKE_TFLITE_COMMON_H_
#define TINYBENCH_FAKE_TFLITE_COMMON_H_

#include <stddef.h>
#include <stdint.h>

typedef enum TfLiteStatus { kTfLiteOk = 0, kTfLiteError = 1 } TfLiteStatus;

typedef enum {
  kTfLiteNoType = 0,
  kTfLiteFloat32 = 1,
  kTfLiteInt32 = 2,
  kTfLiteUInt8 = 3,
  kTfLiteInt16 = 7,
  kTfLiteInt8 = 9,
} TfLiteType;

typedef union TfLitePtrUnion {
  int32_t* i32;
  float* f;
  char* raw;
  uint8_t* uint8;
  int16_t* i16;
  int8_t* int8;
  void* data;
} TfLitePtrUnion;

typedef struct TfLiteQuantizationParams {
  float scale;
  int32_t zero_point;
} TfLiteQuantizationParams;

typedef struct TfLiteTensor {
  TfLiteType type;
  TfLitePtrUnion data;
  TfLiteQuantizationParams params;
  size_t bytes;
} TfLiteTensor;

#endif  // TINYBENCH_FAKE_TFLITE_COMMON_H_
