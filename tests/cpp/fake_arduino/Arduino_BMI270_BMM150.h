// Test stand-in for the Arduino_BMI270_BMM150 library.
#include "fake_imu.h"
