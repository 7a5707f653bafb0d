// Test stand-in for the Arduino IMU libraries (Arduino_LSM9DS1, Arduino_BMI270_BMM150,
// Arduino_LSM6DSOX share this API). Values are smooth functions of the virtual clock; a new
// reading is available every 1/TB_FAKE_IMU_HZ seconds. Define TB_FAKE_IMU_FAILS to make
// begin() fail, as a rev2 board does when the sketch was built for the rev1 IMU.
#ifndef TINYBENCH_FAKE_IMU_H_
#define TINYBENCH_FAKE_IMU_H_

#include <math.h>

#include "Arduino.h"

#ifndef TB_FAKE_IMU_HZ
#define TB_FAKE_IMU_HZ 119.0f
#endif

class FakeImu {
 public:
  int begin() {
#ifdef TB_FAKE_IMU_FAILS
    return 0;
#else
    return 1;
#endif
  }
  float accelerationSampleRate() { return TB_FAKE_IMU_HZ; }
  float gyroscopeSampleRate() { return TB_FAKE_IMU_HZ; }
  int accelerationAvailable() { return fresh(last_accel_); }
  int gyroscopeAvailable() { return fresh(last_gyro_); }
  int readAcceleration(float& x, float& y, float& z) {
    const float t = seconds();
    x = 0.5f * sinf(6.2831853f * t);
    y = -0.25f + 0.1f * cosf(3.0f * t);
    z = 0.98f;
    return 1;
  }
  int readGyroscope(float& x, float& y, float& z) {
    const float t = seconds();
    x = 120.0f * sinf(2.0f * t);
    y = -35.5f;
    z = 0.001f * t;
    return 1;
  }

 private:
  static float seconds() { return static_cast<float>(micros()) * 1e-6f; }
  static int fresh(unsigned long& last) {
    const unsigned long now = micros();
    if (now - last < static_cast<unsigned long>(1e6f / TB_FAKE_IMU_HZ)) return 0;
    last = now;
    return 1;
  }
  unsigned long last_accel_ = 0;
  unsigned long last_gyro_ = 0;
};

static FakeImu IMU;

#endif  // TINYBENCH_FAKE_IMU_H_
