// Open MPI (Debian: libopenmpi-dev). Its handles (MPI_COMM_WORLD, MPI_BYTE, …) are macros that take the
// address of a global, which Swift cannot import; these inline functions hand them over.
#include <mpi.h>

static inline MPI_Comm surgeon_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype surgeon_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Errhandler surgeon_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Status *surgeon_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int surgeon_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int surgeon_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
