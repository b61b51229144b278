/*
 * sweeper: removes, in the background, uploads that never completed.
 */

#ifndef MICROGO_SWEEPER_H
#define MICROGO_SWEEPER_H

/* Once per worker, after jobs_init and gridfs_init. */
void	sweeper_start(void);

#endif
