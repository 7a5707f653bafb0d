// tinybench: the board's 6-axis IMU behind one small interface, for the capture and inference
// sketches. tinybench_config.h (written by tinybench.sketch.render_sketch) selects the part:
//
//   TINYBENCH_IMU_LSM9DS1   Nano 33 BLE Sense rev1        library Arduino_LSM9DS1
//   TINYBENCH_IMU_BMI270    Nano 33 BLE Sense Rev2        library Arduino_BMI270_BMM150
//   TINYBENCH_IMU_LSM6DSOX  Nano RP2040 Connect           library Arduino_LSM6DSOX
//   (none of them)          a board without an IMU: begin() returns false
//
// Acceleration is in g, angular rate in degrees per second, as the libraries return them.

#ifndef TINYBENCH_IMU_H_
#define TINYBENCH_IMU_H_

#include <stddef.h>

#if defined(TINYBENCH_IMU_LSM9DS1)
#include <Arduino_LSM9DS1.h>
#define TINYBENCH_IMU_NAME "LSM9DS1"
#elif defined(TINYBENCH_IMU_BMI270)
#include <Arduino_BMI270_BMM150.h>
#define TINYBENCH_IMU_NAME "BMI270"
#elif defined(TINYBENCH_IMU_LSM6DSOX)
#include <Arduino_LSM6DSOX.h>
#define TINYBENCH_IMU_NAME "LSM6DSOX"
#else
#define TINYBENCH_IMU_NONE 1
#define TINYBENCH_IMU_NAME "none"
#endif

namespace tinybench_imu {

constexpr size_t kFields = 6;
constexpr char kFieldNames[] = "ax,ay,az,gx,gy,gz";
constexpr char kUnits[] = "g,g,g,dps,dps,dps";

// Starts the IMU; false if the part did not answer (or the board has none).
inline bool begin() {
#ifdef TINYBENCH_IMU_NONE
  return false;
#else
  return IMU.begin() != 0;
#endif
}

// The IMU's own output data rate in hertz (0 without an IMU). The sketches sample at their
// own fixed rate and hold the latest reading, so a slower IMU repeats values.
inline float output_rate_hz() {
#ifdef TINYBENCH_IMU_NONE
  return 0.0f;
#else
  return IMU.accelerationSampleRate();
#endif
}

// Copies any new accelerometer and gyroscope readings into `latest` (ax ay az gx gy gz);
// values without a new reading are left as they were.
inline void poll(float latest[kFields]) {
#ifndef TINYBENCH_IMU_NONE
  if (IMU.accelerationAvailable()) IMU.readAcceleration(latest[0], latest[1], latest[2]);
  if (IMU.gyroscopeAvailable()) IMU.readGyroscope(latest[3], latest[4], latest[5]);
#else
  (void)latest;
#endif
}

}  // namespace tinybench_imu

#endif  // TINYBENCH_IMU_H_
