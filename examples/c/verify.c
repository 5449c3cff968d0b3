/*
 * Verifies a certlog proof bundle with the C API of certlog-verifier-c (certlog_verifier.h),
 * the way a device does at boot, and exits like `certlog-verify bundle`:
 * 0 verified and active, 3 verified but not active (its standing is printed),
 * 1 does not verify, 2 usage error, unreadable file, bad input or internal error.
 *
 *   verify BUNDLE --log-vkey VKEY --scheme SCHEME --id ID [--certifier NAME]
 *          [--witness VKEY]... [--quorum N] [--firmware-sha256 HEX]
 *          [--now SECONDS] [--max-age SECONDS]
 *          [--trusted-size N --trusted-root HEX [--trusted-time SECONDS]]
 *
 * --now 0 or no --now: no clock (see certlog_verifier.h). On success it prints the new trusted
 * state, which a device keeps for its next boot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certlog_verifier.h"

#define MAX_WITNESSES 16

static int usage(const char *message) {
    fprintf(stderr, "verify: %s\n", message);
    fprintf(stderr,
            "usage: verify BUNDLE --log-vkey VKEY --scheme SCHEME --id ID [--certifier NAME]\n"
            "       [--witness VKEY]... [--quorum N] [--firmware-sha256 HEX]\n"
            "       [--now SECONDS] [--max-age SECONDS]\n"
            "       [--trusted-size N --trusted-root HEX [--trusted-time SECONDS]]\n");
    return 2;
}

/* A decimal integer filling the whole argument. */
static int parse_i64(const char *text, int64_t *out) {
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        return -1;
    }
    *out = (int64_t)value;
    return 0;
}

/* Exactly `len` bytes of hex. */
static int parse_hex(const char *text, uint8_t *out, size_t len) {
    if (strlen(text) != 2 * len) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned int byte;
        if (sscanf(text + 2 * i, "%2x", &byte) != 1) {
            return -1;
        }
        out[i] = (uint8_t)byte;
    }
    return 0;
}

/* The whole file, in a buffer the caller frees. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        return NULL;
    }
    size_t capacity = 4096, used = 0;
    uint8_t *data = malloc(capacity);
    while (data != NULL) {
        used += fread(data + used, 1, capacity - used, file);
        if (used < capacity) {
            break;
        }
        capacity *= 2;
        uint8_t *bigger = realloc(data, capacity);
        if (bigger == NULL) {
            free(data);
        }
        data = bigger;
    }
    if (data != NULL && ferror(file)) {
        free(data);
        data = NULL;
    }
    fclose(file);
    *len = used;
    return data;
}

int main(int argc, char **argv) {
    const char *path = NULL, *log_vkey = NULL, *scheme = NULL, *id = NULL, *certifier = NULL;
    const char *witnesses[MAX_WITNESSES];
    size_t witness_count = 0;
    int64_t quorum = 0, now = 0, max_age = 0, trusted_size = -1;
    uint8_t firmware[32];
    int has_firmware = 0, has_root = 0;
    CertlogTrustedState trusted = {0};

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || arg[1] != '-') {
            if (path != NULL) {
                return usage("more than one bundle");
            }
            path = arg;
            continue;
        }
        if (i + 1 >= argc) {
            return usage("an option without its value");
        }
        const char *value = argv[++i];
        int bad = 0;
        if (strcmp(arg, "--log-vkey") == 0) {
            log_vkey = value;
        } else if (strcmp(arg, "--scheme") == 0) {
            scheme = value;
        } else if (strcmp(arg, "--id") == 0) {
            id = value;
        } else if (strcmp(arg, "--certifier") == 0) {
            certifier = value;
        } else if (strcmp(arg, "--witness") == 0) {
            if (witness_count == MAX_WITNESSES) {
                return usage("too many witnesses");
            }
            witnesses[witness_count++] = value;
        } else if (strcmp(arg, "--quorum") == 0) {
            bad = parse_i64(value, &quorum) != 0 || quorum < 0;
        } else if (strcmp(arg, "--firmware-sha256") == 0) {
            bad = parse_hex(value, firmware, sizeof firmware) != 0;
            has_firmware = 1;
        } else if (strcmp(arg, "--now") == 0) {
            bad = parse_i64(value, &now) != 0;
        } else if (strcmp(arg, "--max-age") == 0) {
            bad = parse_i64(value, &max_age) != 0 || max_age < 0;
        } else if (strcmp(arg, "--trusted-size") == 0) {
            bad = parse_i64(value, &trusted_size) != 0 || trusted_size < 0;
        } else if (strcmp(arg, "--trusted-root") == 0) {
            bad = parse_hex(value, trusted.root, sizeof trusted.root) != 0;
            has_root = 1;
        } else if (strcmp(arg, "--trusted-time") == 0) {
            bad = parse_i64(value, &trusted.map_head_time) != 0;
        } else {
            return usage("unknown option");
        }
        if (bad) {
            return usage("a bad value");
        }
    }
    if (path == NULL || log_vkey == NULL || scheme == NULL || id == NULL) {
        return usage("BUNDLE, --log-vkey, --scheme and --id are required");
    }
    if ((trusted_size >= 0) != has_root) {
        return usage("--trusted-size and --trusted-root go together");
    }
    trusted.size = (uint64_t)trusted_size;

    size_t bundle_len;
    uint8_t *bundle = read_file(path, &bundle_len);
    if (bundle == NULL) {
        fprintf(stderr, "verify: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }

    CertlogStanding standing;
    CertlogTrustedState next;
    char reason[256];
    CertlogStatus status = certlog_verify_bundle(
        bundle, bundle_len, log_vkey, witnesses, witness_count, (size_t)quorum, scheme, id,
        certifier, has_firmware ? firmware : NULL, now, (uint64_t)max_age,
        has_root ? &trusted : NULL, &standing, reason, sizeof reason, &next);
    free(bundle);

    switch (status) {
    case CERTLOG_STATUS_OK:
        printf("standing: %s\n", reason);
        printf("trusted: size %" PRIu64 " root ", next.size);
        for (size_t i = 0; i < sizeof next.root; i++) {
            printf("%02x", next.root[i]);
        }
        printf(" map-head-time %" PRId64 "\n", next.map_head_time);
        return standing == CERTLOG_STANDING_ACTIVE ? 0 : 3;
    case CERTLOG_STATUS_DOES_NOT_VERIFY:
        printf("does not verify: %s\n", reason);
        return 1;
    case CERTLOG_STATUS_BAD_INPUT:
        fprintf(stderr, "verify: bad input: %s\n", reason);
        return 2;
    default:
        fprintf(stderr, "verify: internal error: %s\n", reason);
        return 2;
    }
}
