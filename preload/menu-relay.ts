// Menu commands (File > Import…, Export…) reach the page as the keyboard shortcut the page already
// handles (Ctrl/Cmd+O, Ctrl/Cmd+E), so the app has one handler for both. When the key press itself
// reached the page and also fired the menu's accelerator, the command is not replayed.

export type MenuCommand = 'import' | 'export';

export const COMMAND_KEYS: Record<MenuCommand, string> = { import: 'o', export: 'e' };

/** A key press the page saw within this many ms makes the menu's echo of it a duplicate. */
export const ECHO_MS = 500;

export interface ShortcutInit {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  bubbles: true;
  cancelable: true;
}

export interface MenuRelay {
  /** a real keydown the page received */
  noteKey(event: { key: string; ctrlKey: boolean; metaKey: boolean; altKey: boolean }, now: number): void;
  /** the KeyboardEvent to dispatch for a menu command, or null (unknown command, or a duplicate) */
  shortcutFor(command: unknown, now: number): ShortcutInit | null;
}

export function createMenuRelay(platform: string): MenuRelay {
  const mac = platform === 'darwin';
  const lastPress = new Map<string, number>();
  return {
    noteKey(event, now) {
      if ((event.ctrlKey || event.metaKey) && !event.altKey) lastPress.set(event.key.toLowerCase(), now);
    },
    shortcutFor(command, now) {
      if (command !== 'import' && command !== 'export') return null;
      const key = COMMAND_KEYS[command];
      const pressed = lastPress.get(key);
      if (pressed !== undefined && now - pressed < ECHO_MS) return null;
      return { key, ctrlKey: !mac, metaKey: mac, bubbles: true, cancelable: true };
    },
  };
}
