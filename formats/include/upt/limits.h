/*
 * limits: every cap on untrusted input, in one header that one screen reviews.
 * Raising a cap is a security decision: each one bounds memory or work an attacker controls.
 */
#ifndef UPT_LIMITS_H
#define UPT_LIMITS_H

/* Bundle container (docs/bundle-format.md) */
#define UPT_META_FILE_MAX (1u << 20)   /* one metadata file, bytes */
#define UPT_META_TOTAL_MAX (16u << 20) /* all metadata of a bundle, bytes */
#define UPT_BUNDLE_JSON_MAX (1u << 20) /* bundle.json */
#define UPT_ROOT_CHAIN_MAX 1024	       /* root files per repository */
#define UPT_MEMBER_PATH_MAX 1024       /* tar member path, bytes */
#define UPT_MEMBERS_MAX 65536	       /* tar members in one bundle */
#define UPT_SPLIT_VOLUMES_MAX 1000     /* name.uptane.000 .. .999 */
#define UPT_SPLIT_SIZE_MAX 4294967295u /* a volume: FAT32's file size limit, 4 GiB - 1 */
/* The writer's floor: smaller volumes are a mistake, not a FAT32 limit. The station's commands
 * take 1M and up (bundler/pack.h); tests cut 4 KiB volumes to reach many of them cheaply. */
#define UPT_SPLIT_SIZE_MIN 4096
#define UPT_WRITER_THREADS_MAX 256 /* compression workers of one writer */
#define UPT_ZSTD_WINDOW_LOG_MAX 22 /* decoder window 4 MiB */
#define UPT_ZSTD_SLACK (64u << 10) /* compressed may exceed ZSTD_compressBound by this */
#define UPT_IO_CHUNK (256u << 10)  /* streaming buffer size */

/* JSON and metadata (docs/bundle-format.md) */
#define UPT_JSON_DEPTH_MAX 32
/* The parsed tree of one JSON document in (estimated) heap bytes (upt_json_scan), and on a
 * device the metadata it keeps of one bundle, bytes plus trees (upt_bundle_reader_keep_device).
 * A genuine targets entry of about 200 bytes takes about 2 KiB parsed: one file holds about
 * 1 900 targets, a device's share of a bundle about 3 500 (delegations split larger fleets). */
#define UPT_JSON_COST_MAX (4u << 20)
#define UPT_META_DEVICE_MAX (8u << 20)
#define UPT_NAME_MAX 128	 /* role, fleet, device, ECU, hardware id names */
#define UPT_TARGET_NAME_MAX 1000 /* target path (images/<name> must fit 1024) */
#define UPT_KEYS_MAX 256	 /* keys in one root or delegating targets file */
#define UPT_KEYS_PER_ROLE_MAX 64
#define UPT_SIGNATURES_MAX 64
#define UPT_TARGETS_MAX 100000	       /* targets in one targets file */
#define UPT_DELEGATIONS_MAX 1024       /* delegated roles in one targets file */
#define UPT_DELEGATION_VISITS_MAX 4096 /* roles visited in one target search */
#define UPT_PATHS_PER_DELEGATION_MAX 256
#define UPT_HWIDS_MAX 256	    /* hardware ids or device ids in one list */
#define UPT_SNAPSHOT_FILES_MAX 4096 /* entries in a snapshot's meta */
#define UPT_DEVICES_PER_BUNDLE_MAX 4096

/* Device (docs/device-config.md) */
#define UPT_ECUS_MAX 64
#define UPT_CONFIG_MAX (64u << 10)
#define UPT_KEYFILE_MAX 4096
#define UPT_STATE_FILE_MAX (1u << 20)
#define UPT_REPORT_MAX (1u << 20)
#define UPT_BUNDLES_PER_MEDIUM_MAX 64
#define UPT_PROGRAM_TIMEOUT_MAX 86400 /* install.timeout_seconds: one day */

#endif
