// Test stand-in for the Arduino_LSM9DS1 library.
#include "fake_imu.h"
