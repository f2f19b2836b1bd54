package prompts

import (
	"context"
	"fmt"
	"strconv"

	"xc5"
	"xc5/resource"
)

// Load puts the system prompts into _prompt.shared when they are not
// there yet (xc5 serve does it on every start; only the first adds them),
// so that routes can name them: the document's conference menu plays
// "Please enter your PIN" from there. A prompt already there is left
// alone: the provider may have replaced its audio.
func Load(ctx context.Context, store resource.Store) error {
	for _, p := range All() {
		_, err := store.Get(ctx, "", resource.Prompt, resource.SharedPrompts, p.GUID)
		if err == nil {
			continue
		}
		if xc5.ErrorCode(err) != xc5.ENOTFOUND {
			return err
		}
		if _, _, err := store.PutAudio(ctx, "", resource.SharedPrompts, p.GUID, p.WAV, p.WAV, p.Length.Milliseconds()); err != nil {
			return fmt.Errorf("system prompt %s: %w", p.Name, err)
		}
		in, err := resource.Decode(resource.Prompt, []byte(`{"description":`+strconv.Quote(p.Description)+`}`))
		if err == nil {
			_, _, err = store.Put(ctx, "", resource.Prompt, resource.SharedPrompts, p.GUID, in, resource.Patch)
		}
		if err != nil {
			return fmt.Errorf("system prompt %s: %w", p.Name, err)
		}
	}
	return nil
}
