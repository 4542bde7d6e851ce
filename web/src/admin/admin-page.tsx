import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { ApiError, errorOf } from '../api.js';
import { ErrorMessage, Page, when } from '../ui.js';

interface Stats {
  popularFormat: { format: string; uploads: number } | null;
  top10CameraModels: { model: string; uploads: number }[];
  uploadFrequency30Days: { date: string; uploads: number }[];
}
interface AdminEvent {
  position: number;
  type: string;
  subjectId: string;
  at: string;
}
interface Job {
  id: string;
  name: string;
  attempts: number;
  lastError: string | null;
  updatedAt: string;
}

/** Kept for this tab only: an admin token is not something to leave in localStorage. */
const tokenKey = 'imagegram.adminToken';

async function adminApi<T>(token: string, path: string, method = 'GET'): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { method, headers: { 'x-access-token': token, accept: 'application/json' } });
  } catch {
    throw new ApiError('The server cannot be reached: check your connection and try again.', 0, null);
  }
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/**
 * The last `count` events. The log pages forward from a position only, so the newest position is
 * found first: doubling until a page is empty, then halving the gap (about 2·log2(n) tiny reads).
 */
async function recentEvents(token: string, count: number): Promise<AdminEvent[]> {
  const nonEmptyAfter = async (after: number) => (await adminApi<{ events: AdminEvent[] }>(token, `/admin/events?after=${after}&limit=1`)).events.length > 0;
  if (!(await nonEmptyAfter(0))) return [];
  let low = 0;
  let high = 1;
  while (await nonEmptyAfter(high)) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await nonEmptyAfter(middle)) low = middle;
    else high = middle;
  }
  const page = await adminApi<{ events: AdminEvent[] }>(token, `/admin/events?after=${Math.max(0, high - count)}&limit=${count}`);
  return page.events.reverse();
}

/** Horizontal bars as SVG: readable at any width, with the numbers in the markup for screen readers. */
function BarChart({ title, rows }: { title: string; rows: { label: string; value: number }[] }) {
  const max = Math.max(1, ...rows.map((row) => row.value));
  const rowHeight = 26;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {rows.length === 0 ? (
        <p>No data yet.</p>
      ) : (
        <svg
          viewBox={`0 0 400 ${rows.length * rowHeight}`}
          width="100%"
          role="img"
          aria-label={`${title}: ${rows.map((row) => `${row.label} ${row.value}`).join(', ')}`}
        >
          {rows.map((row, index) => (
            <g key={row.label} transform={`translate(0 ${index * rowHeight})`}>
              <text x="0" y="17" font-size="13" fill="currentColor">
                {row.label.length > 22 ? `${row.label.slice(0, 21)}…` : row.label}
              </text>
              <rect x="160" y="4" height="18" width={Math.max(2, (row.value / max) * 200)} fill="#3b6fd8" />
              <text x={166 + (row.value / max) * 200} y="17" font-size="13" fill="currentColor">
                {row.value}
              </text>
            </g>
          ))}
        </svg>
      )}
    </figure>
  );
}

/** Uploads per UTC day over the last 30 days, drawn with uPlot to a canvas sized to its container. */
function UploadsPerDay({ days }: { days: Stats['uploadFrequency30Days'] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const ordered = [...days].sort((a, b) => a.date.localeCompare(b.date));
    const data: uPlot.AlignedData = [ordered.map((day) => Date.parse(`${day.date}T00:00:00Z`) / 1000), ordered.map((day) => day.uploads)];
    const width = () => Math.max(260, element.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 220,
        scales: { x: { time: true }, y: { range: (_plot, _min, max) => [0, Math.max(1, max)] } },
        series: [{}, { label: 'Uploads', stroke: '#3b6fd8', fill: 'rgba(59,111,216,0.3)', paths: uPlot.paths.bars!({ size: [0.8, 40] }) }],
        axes: [{}, { label: 'uploads' }],
        legend: { show: false },
      },
      data,
      element,
    );
    const resize = () => plot.setSize({ width: width(), height: 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [days]);
  const total = days.reduce((sum, day) => sum + day.uploads, 0);
  return (
    <figure class="chart">
      <figcaption>Uploads per day (last 30 UTC days, {total} in all)</figcaption>
      <div ref={box} class="uplot-box" role="img" aria-label={`Uploads per day: ${days.map((day) => `${day.date} ${day.uploads}`).join(', ')}`} />
    </figure>
  );
}

/** Operations at a glance: upload statistics as charts, the newest events, parked jobs to retry. */
export function AdminPage() {
  const [token, setToken] = useState(sessionStorage.getItem(tokenKey) ?? '');
  const [stats, setStats] = useState<Stats | null>(null);
  const [events, setEvents] = useState<AdminEvent[]>([]);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');

  const load = async (withToken: string) => {
    setError(null);
    try {
      const [loadedStats, loadedEvents, parked] = await Promise.all([
        adminApi<Stats>(withToken, '/admin/stats'),
        recentEvents(withToken, 20),
        adminApi<{ jobs: Job[] }>(withToken, '/admin/jobs?state=parked&limit=50'),
      ]);
      setStats(loadedStats);
      setEvents(loadedEvents);
      setJobs(parked.jobs);
    } catch (failure) {
      setError(failure);
      if (failure instanceof ApiError && (failure.status === 401 || failure.status === 403)) {
        sessionStorage.removeItem(tokenKey);
        setStats(null);
      }
    }
  };
  useEffect(() => {
    if (token) void load(token);
  }, []);

  const retry = async (job: Job) => {
    setError(null);
    try {
      await adminApi(token, `/admin/jobs/${encodeURIComponent(job.id)}/retry`, 'POST');
      setNotice(`Job ${job.name} is queued again.`);
      await load(token);
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <Page title="Admin">
      <form
        class="inline"
        onSubmit={(event) => {
          event.preventDefault();
          const typed = String(new FormData(event.currentTarget as HTMLFormElement).get('token') ?? '').trim();
          sessionStorage.setItem(tokenKey, typed);
          setToken(typed);
          void load(typed);
        }}
      >
        <label>
          Admin token <input name="token" type="password" autoComplete="off" defaultValue={token} required />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorMessage error={error} />
      {notice && <p role="status">{notice}</p>}
      {stats && (
        <>
          <h2>Uploads</h2>
          <div class="charts">
            <BarChart
              title="Most uploaded format"
              rows={stats.popularFormat ? [{ label: stats.popularFormat.format, value: stats.popularFormat.uploads }] : []}
            />
            <BarChart title="Top 10 camera models" rows={stats.top10CameraModels.map((row) => ({ label: row.model, value: row.uploads }))} />
            <UploadsPerDay days={stats.uploadFrequency30Days} />
          </div>
          <h2>Parked jobs</h2>
          {jobs.length === 0 ? (
            <p>No parked jobs.</p>
          ) : (
            <ul class="jobs">
              {jobs.map((job) => (
                <li key={job.id}>
                  <strong>{job.name}</strong> after {job.attempts} attempts, {when(job.updatedAt)}: {job.lastError ?? 'no error recorded'}{' '}
                  <button type="button" onClick={() => void retry(job)}>
                    Retry
                  </button>
                </li>
              ))}
            </ul>
          )}
          <h2>Recent events</h2>
          <table class="events">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Type</th>
                <th scope="col">Subject</th>
                <th scope="col">At</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.position}>
                  <td>{event.position}</td>
                  <td>{event.type}</td>
                  <td class="mono">{event.subjectId}</td>
                  <td>{when(event.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Page>
  );
}
