import Hummingbird
import Logging

/// Turns every error into the JSON error shape (the statuses are chosen in `ErrorMapping.swift`).
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Answers "no route" for a path that exists under another method with 405.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(at: request.uri.path)
            guard !allowed.isEmpty else { throw HTTPAPIError(error, logger: context.logger) }
            throw HTTPAPIError.methodNotAllowed(request.method, allowed: allowed)
        } catch {
            throw HTTPAPIError(error, logger: context.logger)
        }
    }
}
