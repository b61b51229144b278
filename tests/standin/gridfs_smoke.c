/*
 * gridfs_smoke.c - drive mongod_standin.py through the real libmongoc GridFS
 * bucket API, from several threads sharing one mongoc_client_pool_t.
 *
 * Usage: gridfs_smoke URI TMPDIR [THREADS]
 *
 * Each thread uploads files of several sizes (from temporary files, with
 * mongoc_gridfs_bucket_upload_from_stream), downloads them again with
 * mongoc_gridfs_bucket_open_download_stream and compares every byte, finds them
 * by metadata with mongoc_gridfs_bucket_find, deletes them with
 * mongoc_gridfs_bucket_delete_by_id and checks that they are gone.  Thread 0
 * also moves a 40 MiB file (more than one 16 MiB reply, so getMore is used) and
 * closes a download early (killCursors).
 *
 * Missing files are probed with open_download_stream, never with
 * mongoc_gridfs_bucket_download_to_stream: with an unknown id that function
 * aborts the process on an assertion in libmongoc 1.23.
 *
 * Exit status 0 only if every check passed; failures are printed on stderr.
 */
#include <mongoc/mongoc.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 16
#define BIG_SIZE (40u * 1024u * 1024u)

static const size_t SIZES[] = {0, 3, 261120, 261121, 1024 * 1024, 3 * 1024 * 1024 + 7};
#define N_SIZES (sizeof SIZES / sizeof SIZES[0])

static mongoc_client_pool_t *pool;
static const char *tmp_dir;

typedef struct {
   int thread;
   int failures;
} worker_t;

#define CHECK(w, cond, ...)                                  \
   do {                                                      \
      if (!(cond)) {                                         \
         fprintf (stderr, "thread %d: ", (w)->thread);       \
         fprintf (stderr, __VA_ARGS__);                      \
         fprintf (stderr, "\n");                             \
         (w)->failures++;                                    \
      }                                                      \
   } while (0)

/* Deterministic bytes that differ per thread, size and position. */
static void
fill (uint8_t *buf, size_t len, uint32_t seed)
{
   uint32_t x = seed * 2654435761u + 1u;
   for (size_t i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      buf[i] = (uint8_t) x;
   }
}

static bool
write_temp_file (const uint8_t *data, size_t len, char *path, size_t path_len)
{
   snprintf (path, path_len, "%s/upload-XXXXXX", tmp_dir);
   int fd = mkstemp (path);
   if (fd < 0) {
      return false;
   }
   size_t done = 0;
   while (done < len) {
      ssize_t n = write (fd, data + done, len - done);
      if (n <= 0) {
         close (fd);
         return false;
      }
      done += (size_t) n;
   }
   return close (fd) == 0;
}

static bool
upload (worker_t *w, mongoc_gridfs_bucket_t *bucket, const uint8_t *data, size_t len,
        bson_value_t *file_id)
{
   char path[4096];
   bson_error_t error;
   if (!write_temp_file (data, len, path, sizeof path)) {
      CHECK (w, false, "cannot write temporary file in %s", tmp_dir);
      return false;
   }
   mongoc_stream_t *source = mongoc_stream_file_new_for_path (path, O_RDONLY, 0);
   bson_t *opts = BCON_NEW ("metadata", "{", "thread", BCON_INT32 (w->thread),
                            "size", BCON_INT64 ((int64_t) len), "}");
   bool ok = source && mongoc_gridfs_bucket_upload_from_stream (
                          bucket, "smoke.bin", source, opts, file_id, &error);
   CHECK (w, ok, "upload of %zu bytes failed: %s", len, source ? error.message : "no stream");
   if (source) {
      mongoc_stream_destroy (source);
   }
   bson_destroy (opts);
   unlink (path);
   return ok;
}

/* Read the whole file back; true if it has exactly `len` bytes equal to `data`. */
static bool
download_matches (worker_t *w, mongoc_gridfs_bucket_t *bucket, const bson_value_t *file_id,
                  const uint8_t *data, size_t len)
{
   bson_error_t error;
   mongoc_stream_t *stream = mongoc_gridfs_bucket_open_download_stream (bucket, file_id, &error);
   if (!stream) {
      CHECK (w, false, "open_download_stream (%zu bytes) failed: %s", len, error.message);
      return false;
   }
   uint8_t *got = bson_malloc (len + 1);
   size_t total = 0;
   bool ok = true;
   /* Bounded: every pass either adds bytes or ends the loop. */
   while (total <= len) {
      ssize_t n = mongoc_stream_read (stream, got + total, len + 1 - total, 1, 0);
      if (n < 0) {
         ok = false;
         break;
      }
      if (n == 0) {
         break;
      }
      total += (size_t) n;
   }
   ok = ok && total == len && memcmp (got, data, len) == 0;
   CHECK (w, ok, "download of %zu bytes: got %zu bytes or different content", len, total);
   bson_free (got);
   mongoc_stream_destroy (stream);
   return ok;
}

static void
check_missing (worker_t *w, mongoc_gridfs_bucket_t *bucket, const bson_value_t *file_id)
{
   bson_error_t error;
   mongoc_stream_t *stream = mongoc_gridfs_bucket_open_download_stream (bucket, file_id, &error);
   CHECK (w, stream == NULL, "download of a deleted file succeeded");
   if (stream) {
      mongoc_stream_destroy (stream);
   }
}

static int
count_files (worker_t *w, mongoc_gridfs_bucket_t *bucket)
{
   bson_t *filter = BCON_NEW ("metadata.thread", BCON_INT32 (w->thread));
   bson_t *opts = BCON_NEW ("sort", "{", "uploadDate", BCON_INT32 (-1), "}");
   mongoc_cursor_t *cursor = mongoc_gridfs_bucket_find (bucket, filter, opts);
   const bson_t *doc;
   bson_error_t error;
   int count = 0;
   while (mongoc_cursor_next (cursor, &doc)) {
      count++;
   }
   CHECK (w, !mongoc_cursor_error (cursor, &error), "find failed: %s", error.message);
   mongoc_cursor_destroy (cursor);
   bson_destroy (opts);
   bson_destroy (filter);
   return count;
}

static void
delete_file (worker_t *w, mongoc_gridfs_bucket_t *bucket, const bson_value_t *file_id)
{
   bson_error_t error;
   CHECK (w, mongoc_gridfs_bucket_delete_by_id (bucket, file_id, &error), "delete failed: %s",
          error.message);
   check_missing (w, bucket, file_id);
}

/* Open a big download, read a little, close it: the driver sends killCursors. */
static void
partial_download (worker_t *w, mongoc_gridfs_bucket_t *bucket, const bson_value_t *file_id)
{
   bson_error_t error;
   uint8_t buf[65536];
   mongoc_stream_t *stream = mongoc_gridfs_bucket_open_download_stream (bucket, file_id, &error);
   CHECK (w, stream != NULL, "open for partial download failed: %s", error.message);
   if (stream) {
      CHECK (w, mongoc_stream_read (stream, buf, sizeof buf, 1, 0) > 0, "partial read failed");
      mongoc_stream_destroy (stream);
   }
}

static void
round_trip_sizes (worker_t *w, mongoc_gridfs_bucket_t *bucket, const size_t *sizes, size_t n)
{
   bson_value_t ids[N_SIZES + 1];
   bool uploaded[N_SIZES + 1] = {false};
   uint8_t *data[N_SIZES + 1] = {NULL};

   for (size_t i = 0; i < n; i++) {
      data[i] = bson_malloc (sizes[i] + 1);
      fill (data[i], sizes[i], (uint32_t) (w->thread * 1000 + i));
      uploaded[i] = upload (w, bucket, data[i], sizes[i], &ids[i]);
   }
   for (size_t i = 0; i < n; i++) {
      if (uploaded[i]) {
         download_matches (w, bucket, &ids[i], data[i], sizes[i]);
      }
   }
   if (n > 0 && sizes[n - 1] == BIG_SIZE && uploaded[n - 1]) {
      partial_download (w, bucket, &ids[n - 1]);
   }
   CHECK (w, count_files (w, bucket) == (int) n, "find by metadata did not see %zu files", n);
   for (size_t i = 0; i < n; i++) {
      if (uploaded[i]) {
         delete_file (w, bucket, &ids[i]);
         bson_value_destroy (&ids[i]);
      }
      bson_free (data[i]);
   }
   CHECK (w, count_files (w, bucket) == 0, "files left after delete");
}

static void *
worker_main (void *arg)
{
   worker_t *w = arg;
   bson_error_t error;
   mongoc_client_t *client = mongoc_client_pool_pop (pool);
   mongoc_database_t *db = mongoc_client_get_default_database (client);
   if (!db) {
      db = mongoc_client_get_database (client, "test");
   }
   mongoc_gridfs_bucket_t *bucket = mongoc_gridfs_bucket_new (db, NULL, NULL, &error);
   CHECK (w, bucket != NULL, "bucket_new failed: %s", error.message);
   if (bucket) {
      size_t sizes[N_SIZES + 1];
      size_t n = N_SIZES;
      memcpy (sizes, SIZES, sizeof SIZES);
      if (w->thread == 0) {
         sizes[n++] = BIG_SIZE;
      }
      round_trip_sizes (w, bucket, sizes, n);

      bson_value_t missing = {.value_type = BSON_TYPE_OID};
      bson_oid_init (&missing.value.v_oid, NULL);
      check_missing (w, bucket, &missing);
      mongoc_gridfs_bucket_destroy (bucket);
   }
   mongoc_database_destroy (db);
   mongoc_client_pool_push (pool, client);
   return NULL;
}

int
main (int argc, char **argv)
{
   if (argc < 3) {
      fprintf (stderr, "usage: %s URI TMPDIR [THREADS]\n", argv[0]);
      return 2;
   }
   int threads = argc > 3 ? atoi (argv[3]) : 4;
   if (threads < 1 || threads > MAX_THREADS) {
      fprintf (stderr, "THREADS must be 1..%d\n", MAX_THREADS);
      return 2;
   }
   tmp_dir = argv[2];

   mongoc_init ();
   bson_error_t error;
   mongoc_uri_t *uri = mongoc_uri_new_with_error (argv[1], &error);
   if (!uri) {
      fprintf (stderr, "bad URI: %s\n", error.message);
      return 2;
   }
   pool = mongoc_client_pool_new (uri);
   mongoc_client_pool_set_error_api (pool, MONGOC_ERROR_API_VERSION_2);

   pthread_t tids[MAX_THREADS];
   worker_t workers[MAX_THREADS];
   for (int i = 0; i < threads; i++) {
      workers[i] = (worker_t){.thread = i, .failures = 0};
      pthread_create (&tids[i], NULL, worker_main, &workers[i]);
   }
   int failures = 0;
   for (int i = 0; i < threads; i++) {
      pthread_join (tids[i], NULL);
      failures += workers[i].failures;
   }

   mongoc_client_pool_destroy (pool);
   mongoc_uri_destroy (uri);
   mongoc_cleanup ();
   printf ("gridfs_smoke: %d threads, %d failures\n", threads, failures);
   return failures == 0 ? 0 : 1;
}
