/* scratch.c: the decoder's growing scratch buffer and the fresh output memory it faults in during the next decode. */
#include "core/decoder_state.h"
#include "core/huge_pages.h"

#include <stdlib.h>

unsigned char *h5img_scratch(h5img_decoder *decoder, size_t size)
{
    if (size <= decoder->scratch_size) return decoder->scratch;
    unsigned char *grown = malloc(size);
    if (!grown) return NULL;
    free(decoder->scratch);
    decoder->scratch = grown;
    decoder->scratch_size = size;
    return grown;
}

void h5img_decoder_fault_in_later(h5img_decoder *decoder, void *buffer, size_t size)
{
    decoder->fault_in = buffer;
    decoder->fault_in_size = buffer ? size : 0;
}

void h5img_fault_in_pending(h5img_decoder *decoder)
{
    if (decoder->fault_in) h5img_prefault(decoder->fault_in, decoder->fault_in_size);
    h5img_decoder_fault_in_later(decoder, NULL, 0);
}
