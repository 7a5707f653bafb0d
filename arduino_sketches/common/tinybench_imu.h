// tinybench: the board's 6-axis IMU behind one small interface, for the capture and inference
// sketches. tinybench_config.h (written by tinybench.sketch.render_sketch) selects the part:
//
//   TINYBENCH_IMU_LSM9DS1   Nano 33 BLE Sense rev1        library Arduino_LSM9DS1
//   TINYBENCH_IMU_BMI270    Nano 33 BLE Sense Rev2        library Arduino_BMI270_BMM150
//   TINYBENCH_IMU_LSM6DSOX  Nano RP2040 Connect           library Arduino_LSM6DSOX
//   TINYBENCH_IMU_ADXL335   Uno with an analog ADXL335    analogRead() on A0, A1, A2
//   (none of them)          a board without an IMU: begin() returns false
//
// Acceleration is in g, angular rate in degrees per second, as the libraries return them.
//
// The ADXL335 is an analog 3-axis accelerometer (no gyroscope): its outputs are ratiometric to
// its 3.3 V supply, 1.65 V at 0 g and 330 mV per g. By default the ADC's reference is the
// Uno's 5 V AVCC (analogReference(DEFAULT)): one step is 4.883 mV = 14.8 mg, and nothing but
// X, Y, Z to A0, A1, A2 needs wiring. Define TINYBENCH_ADC_AREF_MV (for example 3300, with the
// 3.3 V pin wired to AREF) to use analogReference(EXTERNAL): one step is then 3.22 mV = 9.8 mg.
// TINYBENCH_ADXL335_ZERO_MV and TINYBENCH_ADXL335_MV_PER_G calibrate a particular part.

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
#elif defined(TINYBENCH_IMU_ADXL335)
#define TINYBENCH_IMU_ANALOG 1
#define TINYBENCH_IMU_NAME "ADXL335"
#ifndef TINYBENCH_ADXL335_ZERO_MV
#define TINYBENCH_ADXL335_ZERO_MV 1650
#endif
#ifndef TINYBENCH_ADXL335_MV_PER_G
#define TINYBENCH_ADXL335_MV_PER_G 330
#endif
#else
#define TINYBENCH_IMU_NONE 1
#define TINYBENCH_IMU_NAME "none"
#endif

namespace tinybench_imu {

#ifdef TINYBENCH_IMU_ANALOG
constexpr size_t kFields = 3;
constexpr char kFieldNames[] = "ax,ay,az";
constexpr char kUnits[] = "g,g,g";
constexpr char kSensor[] = "adxl335";
constexpr bool kReportsOutputRate = false;  // sampled when a sample is due, no data rate
#ifdef TINYBENCH_ADC_AREF_MV
constexpr float kAdcReferenceMv = TINYBENCH_ADC_AREF_MV;
#else
constexpr float kAdcReferenceMv = 5000.0f;  // AVCC
#endif
#else
constexpr size_t kFields = 6;
constexpr char kFieldNames[] = "ax,ay,az,gx,gy,gz";
constexpr char kUnits[] = "g,g,g,dps,dps,dps";
constexpr char kSensor[] = "imu";
constexpr bool kReportsOutputRate = true;
#endif

// Starts the IMU; false if the part did not answer (or the board has none). An analog part
// cannot answer, so begin() only selects the ADC reference and returns true.
inline bool begin() {
#ifdef TINYBENCH_IMU_NONE
  return false;
#elif defined(TINYBENCH_IMU_ANALOG)
#ifdef TINYBENCH_ADC_AREF_MV
  analogReference(EXTERNAL);
#else
  analogReference(DEFAULT);
#endif
  return true;
#else
  return IMU.begin() != 0;
#endif
}

// The IMU's own output data rate in hertz (0 without an IMU). The sketches sample at their
// own fixed rate and hold the latest reading, so a slower IMU repeats values.
inline float output_rate_hz() {
#if defined(TINYBENCH_IMU_NONE) || defined(TINYBENCH_IMU_ANALOG)
  return 0.0f;
#else
  return IMU.accelerationSampleRate();
#endif
}

// Copies any new accelerometer and gyroscope readings into `latest` (ax ay az gx gy gz);
// values without a new reading are left as they were. Call it on every pass of loop().
inline void poll(float latest[kFields]) {
#if defined(TINYBENCH_IMU_NONE) || defined(TINYBENCH_IMU_ANALOG)
  (void)latest;
#else
  if (IMU.accelerationAvailable()) IMU.readAcceleration(latest[0], latest[1], latest[2]);
  if (IMU.gyroscopeAvailable()) IMU.readGyroscope(latest[3], latest[4], latest[5]);
#endif
}

#ifdef TINYBENCH_IMU_ANALOG
// Acceleration in g from a 10-bit ADC reading: the middle of the reading's voltage step,
// (raw + 0.5) * Vref / 1024, minus the zero-g voltage, over the sensitivity.
inline float adxl335_g(int raw) {
  const float millivolts = (static_cast<float>(raw) + 0.5f) * (kAdcReferenceMv / 1024.0f);
  return (millivolts - static_cast<float>(TINYBENCH_ADXL335_ZERO_MV)) /
         static_cast<float>(TINYBENCH_ADXL335_MV_PER_G);
}
#endif

// Call when a sample is due, just before sending it: an analog part is read now (three
// conversions of about 0.11 ms each on an Uno); an IMU keeps what poll() collected.
inline void sample(float latest[kFields]) {
#ifdef TINYBENCH_IMU_ANALOG
  latest[0] = adxl335_g(analogRead(A0));
  latest[1] = adxl335_g(analogRead(A1));
  latest[2] = adxl335_g(analogRead(A2));
#else
  (void)latest;
#endif
}

}  // namespace tinybench_imu

#endif  // TINYBENCH_IMU_H_
