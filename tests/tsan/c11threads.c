/* c11threads.c: C11 threads, mutexes and condition variables seen by
 * ThreadSanitizer.
 *
 * Linked only into the ThreadSanitizer builds.  librdkafka uses C11
 * thrd_create, mtx_* and cnd_*, which glibc implements without going
 * through the pthread functions ThreadSanitizer intercepts: its threads are
 * never set up (the allocator crashes in their first malloc) and its locks
 * are invisible (every hand-over between its threads reads as a race).
 * Defined in the executable, these take precedence for librdkafka and
 * forward to the intercepted pthread calls.  glibc lays out mtx_t and cnd_t
 * as pthread_mutex_t and pthread_cond_t, which the casts rely on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg);
int thrd_join(thrd_t thr, int *res);
int thrd_detach(thrd_t thr);
int mtx_init(mtx_t *m, int type);
int mtx_lock(mtx_t *m);
int mtx_trylock(mtx_t *m);
int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts);
int mtx_unlock(mtx_t *m);
void mtx_destroy(mtx_t *m);
int cnd_init(cnd_t *c);
int cnd_signal(cnd_t *c);
int cnd_broadcast(cnd_t *c);
int cnd_wait(cnd_t *c, mtx_t *m);
int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts);
void cnd_destroy(cnd_t *c);

typedef struct start {
  thrd_start_t func;
  void *arg;
} start;

/* Runs the C11 start function; its int result travels as the pointer
 * glibc's thrd_join would expect. */
static void *trampoline(void *p) {
  start s = *(start *)p;
  free(p);
  return (void *)(intptr_t)s.func(s.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg) {
  start *s = malloc(sizeof(*s));
  if(!s)
    return thrd_nomem;
  s->func = func;
  s->arg = arg;
  pthread_t t;
  int rc = pthread_create(&t, NULL, trampoline, s);
  if(rc != 0) {
    free(s);
    return thrd_error;
  }
  *thr = (thrd_t)t;
  return thrd_success;
}

int thrd_join(thrd_t thr, int *res) {
  void *r;
  if(pthread_join((pthread_t)thr, &r) != 0)
    return thrd_error;
  if(res)
    *res = (int)(intptr_t)r;
  return thrd_success;
}

int thrd_detach(thrd_t thr) {
  return pthread_detach((pthread_t)thr) == 0 ? thrd_success : thrd_error;
}

/* pthread error codes as C11 results. */
static int c11(int rc) {
  if(rc == 0)
    return thrd_success;
  if(rc == EBUSY)
    return thrd_busy;
  if(rc == ETIMEDOUT)
    return thrd_timedout;
  if(rc == ENOMEM)
    return thrd_nomem;
  return thrd_error;
}

int mtx_init(mtx_t *m, int type) {
  pthread_mutexattr_t a;
  if(pthread_mutexattr_init(&a) != 0)
    return thrd_error;
  if(type & mtx_recursive)
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  int rc = pthread_mutex_init((pthread_mutex_t *)m, &a);
  pthread_mutexattr_destroy(&a);
  return c11(rc);
}

int mtx_lock(mtx_t *m) {
  return c11(pthread_mutex_lock((pthread_mutex_t *)m));
}
int mtx_trylock(mtx_t *m) {
  return c11(pthread_mutex_trylock((pthread_mutex_t *)m));
}
int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts) {
  return c11(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}
int mtx_unlock(mtx_t *m) {
  return c11(pthread_mutex_unlock((pthread_mutex_t *)m));
}
void mtx_destroy(mtx_t *m) {
  pthread_mutex_destroy((pthread_mutex_t *)m);
}

int cnd_init(cnd_t *c) {
  return c11(pthread_cond_init((pthread_cond_t *)c, NULL));
}
int cnd_signal(cnd_t *c) {
  return c11(pthread_cond_signal((pthread_cond_t *)c));
}
int cnd_broadcast(cnd_t *c) {
  return c11(pthread_cond_broadcast((pthread_cond_t *)c));
}
int cnd_wait(cnd_t *c, mtx_t *m) {
  return c11(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}
int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts) {
  return c11(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts));
}
void cnd_destroy(cnd_t *c) {
  pthread_cond_destroy((pthread_cond_t *)c);
}
