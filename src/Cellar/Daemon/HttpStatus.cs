using Microsoft.AspNetCore.Http;

namespace Cellar.Daemon;

/// <summary>
/// An HTTP status code as a type: what lets <see cref="Problem{TStatus}"/> and <see cref="Json{TBody, TStatus}"/> tell
/// the OpenAPI document their status before they run. Each one below is never made, only named as a type argument.
/// </summary>
internal interface IHttpStatus
{
    static abstract int Code { get; }
}

internal abstract class Status400BadRequest : IHttpStatus
{
    public static int Code => StatusCodes.Status400BadRequest;
}

internal abstract class Status404NotFound : IHttpStatus
{
    public static int Code => StatusCodes.Status404NotFound;
}

internal abstract class Status429TooManyRequests : IHttpStatus
{
    public static int Code => StatusCodes.Status429TooManyRequests;
}

internal abstract class Status500InternalServerError : IHttpStatus
{
    public static int Code => StatusCodes.Status500InternalServerError;
}

internal abstract class Status503ServiceUnavailable : IHttpStatus
{
    public static int Code => StatusCodes.Status503ServiceUnavailable;
}
