import { useEffect, useState } from 'preact/hooks';
import { currentSession, type User } from './api.js';

/** The signed-in user, re-rendered on log-in and log-out (in this tab and others). */
export function useUser(): User | null {
  const [user, setUser] = useState(currentSession()?.user ?? null);
  useEffect(() => {
    const update = () => setUser(currentSession()?.user ?? null);
    window.addEventListener('imagegram:session', update);
    window.addEventListener('storage', update);
    return () => {
      window.removeEventListener('imagegram:session', update);
      window.removeEventListener('storage', update);
    };
  }, []);
  return user;
}
