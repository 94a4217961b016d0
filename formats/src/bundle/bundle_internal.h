/*
 * bundle_internal: what bundle_reader.c and bundle_writer.c share and nothing else sees.
 */
#ifndef UPT_BUNDLE_INTERNAL_H
#define UPT_BUNDLE_INTERNAL_H

#include <stdint.h>

/* Member names of the layout (docs/bundle-format.md). */
#define UPT_BUNDLE_JSON_NAME "bundle.json"
#define UPT_BUNDLE_META_PREFIX "metadata/"
#define UPT_BUNDLE_IMAGE_PREFIX "images/"
#define UPT_BUNDLE_FORMAT "uptane-offline-bundle"
#define UPT_BUNDLE_VERSION 1

/* Split volume names: "<path>.NNN", three decimal digits (UPT_SPLIT_VOLUMES_MAX = 1000). */
#define UPT_VOLUME_SUFFIX_LEN 4

#endif
