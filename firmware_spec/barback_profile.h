/* barback DIY sensor profile, protocol version 1.
 * GENERATED from firmware_spec/profile.toml by `python -m barback.firmware_spec.generate`: do not edit. */
#ifndef BARBACK_PROFILE_H
#define BARBACK_PROFILE_H
#include <stdint.h>

#define BB_PROTOCOL_VERSION 1
#define BB_UUID_SERVICE "b8ac0001-6f1e-4d51-9c3a-5b2b7e1d0c00"
#define BB_UUID_DATA "b8ac0002-6f1e-4d51-9c3a-5b2b7e1d0c00"
#define BB_UUID_CONTROL "b8ac0003-6f1e-4d51-9c3a-5b2b7e1d0c00"
#define BB_RATE_MIN_HZ 50
#define BB_RATE_MAX_HZ 1000
#define BB_RATE_DEFAULT_HZ 100
#define BB_MAX_SAMPLES_PER_PACKET 19
#define BB_MAX_PACKET_INTERVAL_MS 50
#define BB_MIN_ATT_MTU 185
#define BB_HEADER_SIZE 9
#define BB_SAMPLE_SIZE 12

#define BB_CMD_SET_RATE 0x01  /* sample rate, min_hz to max_hz; only while idle */
#define BB_CMD_SET_ACC_RANGE 0x02  /* accelerometer range code (acc_ranges); only while idle */
#define BB_CMD_SET_GYRO_RANGE 0x03  /* gyroscope range code (gyro_ranges); only while idle */
#define BB_CMD_START 0x04  /* start streaming; the counter restarts at 0 */
#define BB_CMD_STOP 0x05  /* stop streaming; no data packet may follow the response */
#define BB_CMD_TIME_SYNC 0x06  /* set the sensor clock to the host's time (microseconds, low 32 bits used in packets) */
#define BB_CMD_SET_PLACEMENT 0x07  /* 0 unknown, 1 bar, 2 lumbar_upper (T12/L1), 3 lumbar_lower (S1/S2); stored across power cycles */
#define BB_CMD_GET_STATUS 0x08  /* answer payload: version u8, state u8, rate_hz u16, acc code u8, gyro code u8, placement u8, battery % u8 */
#define BB_RESPONSE_FLAG 0x80

#define BB_STATUS_OK 0
#define BB_STATUS_UNKNOWN_COMMAND 1
#define BB_STATUS_BAD_LENGTH 2
#define BB_STATUS_OUT_OF_RANGE 3
#define BB_STATUS_INVALID_STATE 4
#define BB_STATUS_LOW_BATTERY 5
#define BB_STATE_IDLE 0
#define BB_STATE_STREAMING 1
#define BB_ACC_RANGE_2G 0
#define BB_ACC_RANGE_4G 1
#define BB_ACC_RANGE_8G 2
#define BB_ACC_RANGE_16G 3
#define BB_GYRO_RANGE_250DPS 0
#define BB_GYRO_RANGE_500DPS 1
#define BB_GYRO_RANGE_1000DPS 2
#define BB_GYRO_RANGE_2000DPS 3

typedef struct __attribute__((packed)) {
    uint8_t version;  /* offset 0: protocol version (1) */
    uint8_t flags;  /* offset 1: bits 0-1 acc range code, bits 2-3 gyro range code, bit 7 clock synchronised */
    uint16_t counter;  /* offset 2: sample counter of the first sample (wraps at 65536; +1 per sample, never skips) */
    uint32_t timestamp_us;  /* offset 4: sensor clock at the first sample, microseconds (wraps every 71.6 min) */
    uint8_t n_samples;  /* offset 8: samples in this packet (1 to max_samples_per_packet) */
} bb_data_header_t;

typedef struct __attribute__((packed)) {
    int16_t acc_x;  /* offset 0: accelerometer, counts x acc scale */
    int16_t acc_y;  /* offset 2: accelerometer */
    int16_t acc_z;  /* offset 4: accelerometer */
    int16_t gyro_x;  /* offset 6: gyroscope, counts x gyro scale */
    int16_t gyro_y;  /* offset 8: gyroscope */
    int16_t gyro_z;  /* offset 10: gyroscope */
} bb_sample_t;

typedef struct __attribute__((packed)) {
    uint8_t version;  /* offset 0 */
    uint8_t state;  /* offset 1 */
    uint16_t rate_hz;  /* offset 2 */
    uint8_t acc_range_code;  /* offset 4 */
    uint8_t gyro_range_code;  /* offset 5 */
    uint8_t placement;  /* offset 6 */
    uint8_t battery_pct;  /* offset 7 */
} bb_status_t;

#endif /* BARBACK_PROFILE_H */
