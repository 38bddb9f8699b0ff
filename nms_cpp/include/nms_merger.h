/*
 * nms_merger.h: C ABI of libnms_merger.so, greedy NMS and tile merging on caller-owned arrays.
 *
 * THE CONTRACT (the Python oracle conformance/nms/oracle.py implements this same text independently)
 * ---------------------------------------------------------------------------------------------------
 * Inputs. Box i is boxes[4*i .. 4*i+3] = x1, y1, x2, y2 (float32, xyxy, no +1 pixel). Every coordinate
 *   and every score must be finite and x1 <= x2, y1 <= y2; otherwise the call fails with a status code
 *   and *out_bad_index = i (the lowest offending index). Zero-area boxes (x1 == x2 or y1 == y2) are valid.
 *   Thresholds must lie in [0, 1]; counts in [0, NMS_MAX_BOXES]; pointers non-null (class_ids may be
 *   NULL: every box is class 0). Nothing is written to the outputs unless the status is NMS_OK.
 *
 * Arithmetic (stated so that any implementation gets bit-identical decisions). Each coordinate is
 *   widened to IEEE-754 double, then, with every operation rounded to double in exactly this order and
 *   no fused multiply-add:
 *     w     = max(0, min(ax2, bx2) - max(ax1, bx1))      h = max(0, min(ay2, by2) - max(ay1, by1))
 *     inter = w * h       area_a = (ax2 - ax1) * (ay2 - ay1)       area_b likewise
 *     IoU match:  inter > thr * ((area_a + area_b) - inter)
 *     IoS match:  inter > thr * min(area_a, area_b)
 *   The comparison is strict (as torchvision and OpenCV) and has no division, so there is no 0/0:
 *   a zero-area box has inter == 0 and therefore never matches and is never matched, at any threshold.
 *   At thr = 1 nothing matches under IoU (inter <= union holds in double); at thr = 0 any positive
 *   intersection matches.
 *
 * Order. Candidates are ranked by score descending; equal scores by lower input index first (stable).
 *   Scores are compared as float32 values. Every output list is in this rank order.
 *
 * NMS (nms_greedy). A box is a candidate iff score > score_threshold (strict, as OpenCV; the float32
 *   score widened to double against the double threshold). Walking the
 *   candidates in rank order, a candidate is kept iff no already-kept box of the same class (any class
 *   when class_agnostic) matches it under IoU with iou_threshold; the walk stops once max_detections
 *   boxes are kept (max_detections == NMS_UNLIMITED: no limit).
 *
 * Tile merge (nms_merge_tiles). Box i lies in tile tile_ids[i] (0 <= tile_id < n_tiles) whose top-left
 *   corner is (tile_offsets[2*t], tile_offsets[2*t+1]) in the frame. Frame box = (x1 + ox, y1 + oy,
 *   x2 + ox, y2 + oy), each sum rounded to float32; it must be finite (else NMS_ERR_NONFINITE_BOX).
 *   There is no score threshold. On the frame boxes, with the chosen metric (IoU or IoS) and threshold:
 *   - NMS_METHOD_NMS: the NMS rule above (every box is a candidate, no limit); the output box is the
 *     kept frame box.
 *   - NMS_METHOD_GREEDY_NMM (SAHI GREEDYNMM): the keepers are exactly the boxes NMS would keep with this
 *     metric. Every other box joins the FIRST keeper in rank order, of its class (any class when
 *     class_agnostic), that matches it. Each keeper's output box M starts as its own frame box; its
 *     members are visited in rank order and a member m is fused, M = (min x1, min y1, max x2, max y2),
 *     only if M (as it is then) still matches m; a member that no longer matches is dropped (as SAHI's
 *     has_match re-check does). Output score and class are the keeper's (the highest score of the group).
 *     Deviation from SAHI: SAHI groups with ">= threshold"; this contract is strict ">" everywhere.
 *
 * Empty input (n == 0) is valid and gives *out_count = 0.
 */
#ifndef NMS_MERGER_H
#define NMS_MERGER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NMS_ABI_VERSION 1
/** Largest accepted box count; larger counts are rejected as absurd (NMS_ERR_BAD_COUNT). */
#define NMS_MAX_BOXES 16777216
/** Largest accepted tile count. */
#define NMS_MAX_TILES 1048576
/** max_detections value meaning "no limit". */
#define NMS_UNLIMITED (-1)

/** Status codes; every entry point returns one. */
typedef enum nms_status {
    NMS_OK = 0,
    NMS_ERR_NULL_POINTER = 1,      /* a required pointer is NULL */
    NMS_ERR_BAD_COUNT = 2,         /* n, n_tiles or max_detections negative or absurd */
    NMS_ERR_NONFINITE_BOX = 3,     /* a coordinate (or its frame coordinate) is NaN or infinite */
    NMS_ERR_INVERTED_BOX = 4,      /* x2 < x1 or y2 < y1 */
    NMS_ERR_NONFINITE_SCORE = 5,   /* a score is NaN or infinite */
    NMS_ERR_BAD_THRESHOLD = 6,     /* a threshold is NaN or outside [0, 1] */
    NMS_ERR_BAD_TILE_ID = 7,       /* tile id outside [0, n_tiles) */
    NMS_ERR_NONFINITE_OFFSET = 8,  /* a tile offset is NaN or infinite; bad index is the tile */
    NMS_ERR_BAD_METHOD = 9,        /* method is not an nms_method */
    NMS_ERR_BAD_METRIC = 10,       /* metric is not an nms_metric */
    NMS_ERR_CAPACITY = 11,         /* out_capacity is smaller than n */
    NMS_ERR_OUT_OF_MEMORY = 12,    /* scratch allocation failed */
    NMS_ERR_INTERNAL = 13          /* unexpected C++ exception (never expected) */
} nms_status;

typedef enum nms_method { NMS_METHOD_NMS = 0, NMS_METHOD_GREEDY_NMM = 1 } nms_method;
typedef enum nms_metric { NMS_METRIC_IOU = 0, NMS_METRIC_IOS = 1 } nms_metric;

/** NMS_ABI_VERSION of the loaded library (the binding refuses a mismatch). */
int32_t nms_abi_version(void);

/** Static English text for a status code ("unknown status" for anything else). */
const char *nms_status_message(int32_t status);

/**
 * Greedy NMS. boxes[4n], scores[n], class_ids[n] or NULL. Writes the kept input indices, in rank order,
 * to out_keep (capacity out_capacity >= n) and their number to *out_count. *out_bad_index is set to the
 * offending box index on a per-box error, else -1.
 */
int32_t nms_greedy(const float *boxes, const float *scores, const int32_t *class_ids, int64_t n,
                   double iou_threshold, double score_threshold, int64_t max_detections,
                   int32_t class_agnostic, int64_t *out_keep, int64_t out_capacity, int64_t *out_count,
                   int64_t *out_bad_index);

/**
 * Tile merge. Tile-local boxes[4n], scores[n], class_ids[n] or NULL, tile_ids[n], tile_offsets[2*n_tiles].
 * Writes M results in rank order: out_boxes[4M] (frame coordinates), out_scores[M], out_class_ids[M],
 * out_keep[M] (the keeper's input index); every output has capacity out_capacity >= n.
 */
int32_t nms_merge_tiles(const float *boxes, const float *scores, const int32_t *class_ids,
                        const int32_t *tile_ids, int64_t n, const float *tile_offsets, int64_t n_tiles,
                        int32_t method, int32_t metric, double threshold, int32_t class_agnostic,
                        float *out_boxes, float *out_scores, int32_t *out_class_ids, int64_t *out_keep,
                        int64_t out_capacity, int64_t *out_count, int64_t *out_bad_index);

#ifdef __cplusplus
}
#endif

#endif /* NMS_MERGER_H */
