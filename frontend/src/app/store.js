import { combineReducers, configureStore } from '@reduxjs/toolkit';
import { api } from '../api/baseApi.js';
import preferencesReducer from '../state/preferences.js';
import sessionReducer from '../state/session.js';

export const rootReducer = combineReducers({
  [api.reducerPath]: api.reducer,
  session: sessionReducer,
  preferences: preferencesReducer,
});

/** The store; tests make their own, with a preloaded state. */
export function makeStore(preloadedState) {
  return configureStore({
    reducer: rootReducer,
    preloadedState,
    middleware: (getDefault) => getDefault().concat(api.middleware),
  });
}
